"""Celery bound to the Flask app: tasks run inside an app context; eager when no Redis is configured."""
from celery import Celery, Task
from celery.schedules import crontab

celery = Celery("guarantee", include=["app.tasks"])


def init_celery(app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery.conf.update(app.config["CELERY"])
    celery.conf.beat_schedule = {
        "day-end": {"task": "app.tasks.run_dayend", "schedule": crontab(hour=23, minute=30)},
    }
    celery.Task = FlaskTask
    celery.flask_app = app
    app.extensions["celery"] = celery
    return celery
