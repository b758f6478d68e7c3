"""Background jobs (app/jobs.py): after the commit, never after a rollback, after the response, on Redis."""
import logging
import os
import socket
import uuid
from pathlib import Path

import pytest
from flask import has_app_context, has_request_context

from app import jobs
from app.extensions import db
from app.models import School
from tests.conftest import run_worker_burst
from tests.factories import make_school

CALLS = []
REMEMBER = "tests.unit.test_jobs:remember"


def remember(*args):
    """A job: notes its arguments and whether it ran in an app context and inside a request."""
    CALLS.append((args, has_app_context(), has_request_context()))


def explode(*args):
    raise RuntimeError("the job broke")


def rename_school(school_id, name):
    """A job that writes: what a worker process does must reach the database."""
    db.session.get(School, school_id).name = name
    db.session.commit()


@pytest.fixture(autouse=True)
def _no_calls_yet():
    CALLS.clear()
    yield
    CALLS.clear()


def test_a_job_runs_once_after_the_commit_in_an_app_context_of_its_own(app):
    make_school()
    jobs.enqueue_after_commit(REMEMBER, 7, "seven")
    db.session.flush()
    assert CALLS == []
    db.session.commit()
    assert CALLS == [((7, "seven"), True, False)]
    db.session.commit()  # a later commit does not run it again
    assert len(CALLS) == 1


def test_a_rollback_runs_nothing(app):
    make_school()
    jobs.enqueue_after_commit(REMEMBER, 1)
    db.session.rollback()
    db.session.commit()
    assert CALLS == []


def test_a_savepoint_waits_for_the_real_commit_and_a_rolled_back_one_drops_its_own_jobs(app):
    make_school()
    jobs.enqueue_after_commit(REMEMBER, "before")
    with db.session.begin_nested():
        jobs.enqueue_after_commit(REMEMBER, "kept")
    with pytest.raises(ValueError), db.session.begin_nested():
        jobs.enqueue_after_commit(REMEMBER, "dropped")
        raise ValueError
    assert CALLS == []  # released savepoints are not the commit
    db.session.commit()
    assert [args for args, _ctx, _req in CALLS] == [("before",), ("kept",)]


def test_a_failing_job_is_logged_and_the_caller_carries_on(app, caplog):
    jobs.enqueue_after_commit("tests.unit.test_jobs:explode", 3)
    jobs.enqueue_after_commit(REMEMBER, 4)
    with caplog.at_level(logging.ERROR, logger="app.jobs"):
        db.session.commit()
    assert "tests.unit.test_jobs:explode(3,) failed" in caplog.text and "the job broke" in caplog.text
    assert CALLS == [((4,), True, False)]  # the next job still ran


@pytest.mark.parametrize("target", ["tests.unit.test_jobs:nothing_here", "tests.unit.test_jobs", "CALLS"])
def test_a_target_that_names_no_function_fails_in_the_caller(app, target):
    with pytest.raises((ValueError, ImportError)):
        jobs.enqueue_after_commit(target)


def test_inside_a_request_the_job_runs_after_the_response_and_before_the_client_returns(make_app):
    app = make_app()
    with app.app_context():
        school_id = make_school(name="Before").id
        db.session.commit()
    steps = []

    def view():
        jobs.enqueue_after_commit(REMEMBER, "request")
        jobs.enqueue_after_commit("tests.unit.test_jobs:rename_school", school_id, "After")
        db.session.commit()
        name = db.session.get(School, school_id).name  # the request reads on after its commit
        steps.append(("view done", name, list(CALLS)))
        return "ok"

    app.add_url_rule("/job-test", "job_test", view, methods=["POST"])
    r = app.test_client().post("/job-test")
    assert r.status_code == 200 and r.text == "ok"
    assert steps == [("view done", "Before", [])]  # the view was over before the jobs ran...
    assert CALLS == [(("request",), True, False)]  # ...which ran outside that request
    with app.app_context():
        assert db.session.get(School, school_id).name == "After"


def test_a_request_that_raises_still_runs_the_jobs_it_committed(make_app):
    app = make_app()

    def view():
        jobs.enqueue_after_commit(REMEMBER, "committed")
        db.session.commit()
        raise RuntimeError("after the commit")

    app.add_url_rule("/job-raises", "job_raises", view, methods=["POST"])
    with pytest.raises(RuntimeError):
        app.test_client().post("/job-raises")  # TESTING propagates the error
    assert CALLS == [(("committed",), True, False)]


def test_a_response_without_jobs_passes_through_untouched(make_app):
    app = make_app()
    app.add_url_rule("/no-jobs", "no_jobs", lambda: "plain")
    assert app.test_client().get("/no-jobs").text == "plain"
    assert CALLS == []


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_when_redis_does_not_answer_the_job_runs_in_process_and_says_so(make_app, caplog):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    with app.app_context(), caplog.at_level(logging.WARNING, logger="app.jobs"):
        jobs.enqueue_after_commit(REMEMBER, "fallback")
        db.session.commit()
    assert CALLS == [(("fallback",), True, False)]
    assert "Redis did not answer" in caplog.text and "flask notify send-due" in caplog.text


def test_the_worker_command_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL is not set" in result.output


@pytest.fixture
def redis_app(make_app):
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set TEST_REDIS_URL (CI sets it and starts redis-server)")
    name = f"hearth-test-{uuid.uuid4().hex}"  # a queue of its own: tests run in parallel
    app = make_app(REDIS_URL=url, JOBS_QUEUE=name)
    yield app
    queue = jobs._queue(url, name)
    queue.delete(delete_jobs=True)


def test_with_redis_a_committed_job_waits_in_the_queue_and_the_worker_runs_it(redis_app):
    with redis_app.app_context():
        school_id = make_school(name="Before").id
        queue = jobs._queue(redis_app.config["REDIS_URL"], redis_app.config["JOBS_QUEUE"])
        jobs.enqueue_after_commit("tests.unit.test_jobs:rename_school", school_id, "After")
        db.session.flush()
        assert queue.count == 0
        db.session.commit()  # and the test holds no transaction (SQLite: no lock) while the worker runs
        assert queue.count == 1 and CALLS == []
        [job] = queue.jobs
        assert job.func_name == "app.jobs.run_job"
        assert job.args == ("tests.unit.test_jobs:rename_school", school_id, "After")
        # `flask jobs worker --burst`: an RQ Worker forks a work horse for the job, then stops
        run_worker_burst(redis_app)
        assert queue.count == 0 and queue.failed_job_registry.count == 0
        assert db.session.get(School, school_id).name == "After"  # written by the work horse


def test_with_redis_enqueue_queues_at_once_and_a_rollback_queues_nothing(redis_app):
    with redis_app.app_context():
        queue = jobs._queue(redis_app.config["REDIS_URL"], redis_app.config["JOBS_QUEUE"])
        jobs.enqueue_after_commit(REMEMBER, "rolled back")
        db.session.rollback()
        assert queue.count == 0
        jobs.enqueue(REMEMBER, "now")
        assert queue.count == 1 and CALLS == []


def test_with_redis_an_uploaded_video_waits_processing_until_the_worker_transcodes_it(redis_app):
    """The upload is checked in the request and queued when it commits; the worker's forked work
    horse runs ffmpeg, writes the variants and marks the row ready."""
    import shutil

    from app.models import MediaFile
    from app.services import media as media_service
    from tests import media_samples as samples
    from tests.factories import make_teacher
    if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        if os.environ.get("HEARTH_REQUIRE_FFMPEG") == "1":
            pytest.fail("HEARTH_REQUIRE_FFMPEG=1 but ffmpeg/ffprobe are not installed")
        pytest.skip("ffmpeg/ffprobe are not installed")
    clip = samples.video_clip(Path(redis_app.config["MEDIA_ROOT"]).parent / "clip.mp4", seconds=1,
                              size=(320, 240), audio=False)
    with redis_app.app_context():
        school = make_school()
        teacher = make_teacher(school)
        media = media_service.store_upload(samples.upload(clip.read_bytes(), "clip.mp4"), school_id=school.id,
                                           uploaded_by=teacher)
        media_id = media.id
        queue = jobs._queue(redis_app.config["REDIS_URL"], redis_app.config["JOBS_QUEUE"])
        assert queue.count == 0
        db.session.commit()
        assert queue.count == 1 and queue.jobs[0].args == ("app.services.media:process_video", media_id)
        assert queue.jobs[0].timeout > redis_app.config["FFMPEG_TIMEOUT"]  # RQ would kill it at 180 s
        assert db.session.get(MediaFile, media_id).status == "processing"
        db.session.commit()  # SQLite: hold no transaction while the worker writes
        run_worker_burst(redis_app)
        assert queue.count == 0 and queue.failed_job_registry.count == 0
        db.session.expire_all()
        media = db.session.get(MediaFile, media_id)
        assert media.status == "ready" and (media.width, media.height) == (320, 240)
        assert media_service.file_path(media, "video").is_file() and media_service.file_path(media, "poster").is_file()
        assert not media_service._original_path(media.school_id, media.storage_key).exists()
