"""The small shared base every app may import: the error type, admin building blocks,
the seam through which services publish Celery tasks, and the hospital's name and address
in the reader's language. It imports no app of Yuyue, so dependencies point one way:
apps → core, config → apps → core.
"""
