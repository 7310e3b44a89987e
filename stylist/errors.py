"""User-facing errors: each carries a message a shopper or operator can act on (never a traceback)."""


class StylistError(Exception):
    """Base class; ``str(err)`` is safe to show to a user."""


class BadImageError(StylistError):
    """The input is not an image we can read (corrupt, empty, non-image, too large, too small)."""


class DataMissingError(StylistError):
    """A data source (../shared/data, Fashion-MNIST, a catalog CSV) is not where we looked."""


class CatalogError(StylistError):
    """A catalog CSV breaks the schema in stylist/schema.py."""


class IndexUnavailableError(StylistError):
    """The Chroma store cannot be reached or opened (the message names the URL or path)."""


class EmptyIndexError(StylistError):
    """The catalog index has no products yet."""


class UnknownItemError(StylistError):
    """The caller asked for a detected item number that does not exist."""
