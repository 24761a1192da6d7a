"""The console SMS backend never logs a message's text: only its kind and the masked
number. A sign-in code or a booking code in a log line would be read by anyone with
access to the logs (production may run it for demos, YUYUE_ALLOW_CONSOLE_SMS)."""

import logging

from notifications.backends import ConsoleSMSBackend, Outgoing

TEXT = "[Yuyue] Your sign-in code is 493817. Never share it with anyone."


def outgoing() -> Outgoing:
    return Outgoing(
        key="k-1",
        kind="sign_in_code",
        language="en",
        recipient="13812345678",
        text=TEXT,
        context={"code": "493817"},
    )


def test_the_log_line_has_the_kind_and_the_masked_number_only(caplog, settings, capsys):
    settings.DEBUG = False
    caplog.set_level(logging.DEBUG)

    ConsoleSMSBackend().send(outgoing())

    assert caplog.messages == ["SMS sign_in_code to ***5678 (text not logged)"]
    assert "493817" not in caplog.text
    assert capsys.readouterr().out == ""  # nothing on the terminal either


def test_development_prints_the_text_on_the_terminal_outside_logging(caplog, settings, capsys):
    # `make run`: a developer copies the sign-in code from the terminal.
    settings.DEBUG = True
    caplog.set_level(logging.DEBUG)

    ConsoleSMSBackend().send(outgoing())

    assert "493817" not in caplog.text
    assert capsys.readouterr().out == f"SMS to ***5678: {TEXT}\n"
