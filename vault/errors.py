"""Errors raised by the vault. None of them ever carries plaintext or key material."""


class VaultError(Exception):
    """Base class for vault failures."""


class KeyringError(VaultError):
    """The keyring is missing, malformed or does not hold the key that is asked for."""


class SealedError(VaultError):
    """Plaintext was asked for, or written, outside an unsealing scope that allows it."""


class IntegrityError(VaultError):
    """A ciphertext failed authentication: wrong key, damaged, or moved to another place."""


class ShreddedError(VaultError):
    """The data key of this subject has been destroyed; its data is gone for good."""
