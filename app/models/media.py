"""Uploaded media: photos, one short video per post, documents. Files live under MEDIA_ROOT.

A file is *staged* (no post, portfolio item or message) between its upload and the save of what
it belongs to; staged files are seen by their uploader only and pruned after a day.
"""
from ..extensions import db
from .base import utcnow

KIND_IMAGE = "image"
KIND_VIDEO = "video"
KIND_DOCUMENT = "document"

# The variants each kind stores on disk (the original is never kept: SECURITY.md 20).
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
