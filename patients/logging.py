"""A logging filter so a resident ID number never reaches a log line."""

import logging

from patients.identity import mask_resident_ids_in


class MaskIdentityFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_resident_ids_in(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
