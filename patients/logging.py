"""A logging filter so a resident ID number never reaches a log line."""

import logging
import traceback

from patients.identity import mask_resident_ids_in


class MaskIdentityFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_resident_ids_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        # A database error's traceback can quote a whole row: mask it too. The formatter
        # uses a record's exc_text as it finds it.
        if record.exc_info and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = mask_resident_ids_in(text)
        return True
