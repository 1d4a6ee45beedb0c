-- The wrapped data keys live in their own database, apart from the records.
CREATE DATABASE salon_vault_keys OWNER salon;
