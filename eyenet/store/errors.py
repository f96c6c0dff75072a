"""What the store refuses or cannot do."""


class StoreError(Exception):
    """The database cannot be opened or is newer than this EyeNet, or a write was refused."""


class AlreadyExists(StoreError):
    """A record with that key (a username) is already there."""


class LastAdmin(StoreError):
    """Deleting this user would leave nobody with the admin role."""


class Damaged(StoreError):
    """SQLite found the database damaged while EyeNet runs (a corrupt page): nothing read or
    written there can be trusted until an operator restores it."""
