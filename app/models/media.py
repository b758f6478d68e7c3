"""Uploaded media: photos, one short video per post, documents. Files live under MEDIA_ROOT.

A file is *staged* (no post, portfolio item or message) between its upload and the save of what
it belongs to; staged files are seen by their uploader only and pruned after a day.
"""
from ..extensions import db
from .base import utcnow

KIND_IMAGE = "image"
KIND_VIDEO = "video"
KIND_DOCUMENT = "document"

# A video is transcoded by a background job (services/media.py process_video): until then it is
# "processing" (its checked upload waits beside where the variants will go, never served), then
# "ready", or "failed" when ffmpeg could not make it. Photos and documents are ready at once.
STATUS_READY = "ready"
STATUS_PROCESSING = "processing"
STATUS_FAILED = "failed"

# The variants each kind stores on disk (the original is never kept once processed: SECURITY.md 20).
VARIANTS = {
    KIND_IMAGE: ("feed", "large", "thumb"),
    KIND_VIDEO: ("video", "poster"),
    KIND_DOCUMENT: ("file",),
}


class MediaFile(db.Model):
    __table_args__ = (
        db.Index("ix_media_file_post", "post_id", "position"),
        db.Index("ix_media_file_item", "portfolio_item_id", "position"),
        db.Index("ix_media_file_staged", "uploaded_by_id", "created_at"),
    )
    id = db.Column(db.Integer, primary_key=True)
    school_id = db.Column(db.ForeignKey("school.id"), nullable=False, index=True)
    kind = db.Column(db.String(10), nullable=False)  # image, video, document
    # A random name: the files are <MEDIA_ROOT>/<school id>/<key[:2]>/<key>.<variant>.<ext>
    storage_key = db.Column(db.String(48), nullable=False, unique=True)
    content_type = db.Column(db.String(120), nullable=False)  # of the main variant
    filename = db.Column(db.String(200))  # documents: the cleaned name offered on download
    width = db.Column(db.Integer)  # the feed variant (images), the video's frame
    height = db.Column(db.Integer)
    large_width = db.Column(db.Integer)
    large_height = db.Column(db.Integer)
    duration_seconds = db.Column(db.Float)
    bytes_stored = db.Column(db.Integer, nullable=False, default=0)  # all variants together
    bytes_received = db.Column(db.Integer, nullable=False, default=0)  # the upload, for quotas
    alt_text = db.Column(db.String(300), nullable=False, default="")
    # The teacher confirmed that no child can be identified in this photo or video.
    no_child_confirmed = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    uploaded_by_id = db.Column(db.ForeignKey("user.id"))
    uploaded_by_pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"))
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"))
    portfolio_item_id = db.Column(db.ForeignKey("portfolio_item.id", ondelete="CASCADE"))
    message_id = db.Column(db.ForeignKey("message.id", ondelete="CASCADE"), index=True)
    position = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    status = db.Column(db.String(12), nullable=False, default=STATUS_READY, server_default=STATUS_READY)

    tags = db.relationship("MediaTag", cascade="all, delete-orphan", lazy="selectin",
                           back_populates="media")

    @property
    def is_image(self):
        return self.kind == KIND_IMAGE

    @property
    def is_video(self):
        return self.kind == KIND_VIDEO

    @property
    def is_document(self):
        return self.kind == KIND_DOCUMENT

    @property
    def ready(self):
        return self.status == STATUS_READY

    @property
    def processing(self):
        return self.status == STATUS_PROCESSING

    @property
    def failed(self):
        return self.status == STATUS_FAILED

    def shown_to(self, account):
        """Whether a reader sees this file (or, not ready, its "being prepared" note) where it
        belongs: a video still being prepared, or one that failed, is shown to staff and to its
        uploader only (with a note instead of a player), and to nobody else until it is ready."""
        if self.ready:
            return True
        if account is None or not getattr(account, "is_authenticated", False):
            return False
        if getattr(account, "is_pupil", False):
            return self.uploaded_by_pupil_id == account.id
        return bool(getattr(account, "is_staff", False)) or self.uploaded_by_id == account.id

    @property
    def shows_people(self):
        return self.kind in (KIND_IMAGE, KIND_VIDEO)

    @property
    def staged(self):
        return self.post_id is None and self.portfolio_item_id is None and self.message_id is None

    @property
    def tagged_pupil_ids(self):
        return {tag.pupil_id for tag in self.tags}


class MediaTag(db.Model):
    """A pupil who appears in a photo or video (the teacher tapped them)."""
    media_id = db.Column(db.ForeignKey("media_file.id", ondelete="CASCADE"), primary_key=True)
    pupil_id = db.Column(db.ForeignKey("pupil.id", ondelete="CASCADE"), primary_key=True, index=True)

    media = db.relationship("MediaFile", back_populates="tags")
    pupil = db.relationship("Pupil")
