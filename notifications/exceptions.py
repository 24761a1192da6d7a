"""How a provider's refusal is classified: try again later, or never."""


class SendError(Exception):
    """A provider did not take the message. `retryable` says whether trying later may help."""

    retryable = True

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:450]


class RetryableSendError(SendError):
    """Timeouts, connection errors, 5xx, rate limits: the same request may succeed later."""

    retryable = True


class PermanentSendError(SendError):
    """An invalid number, an unknown template, a 4xx: sending again cannot help."""

    retryable = False
