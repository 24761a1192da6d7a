"""A logging filter so a resident ID number or a mobile number never reaches a log line."""

import logging
import traceback

from patients.identity import mask_personal_data_in


class MaskIdentityFilter(logging.Filter):
    """Masks resident IDs (last 4 kept) and mainland mobile numbers (138****5678) in a
    record's message and in its traceback, before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        # A database error's traceback can quote a whole row: mask it too. The formatter
        # uses a record's exc_text as it finds it.
        if record.exc_info and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = mask_personal_data_in(text)
        elif record.exc_text:
            record.exc_text = mask_personal_data_in(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_personal_data_in(record.stack_info)
        return True
