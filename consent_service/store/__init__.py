"""The store: the only package that talks to Redis (device records, accounts, the audit trail, and a
lean reader for the decision path)."""

from consent_service.store.accounts import Account, Accounts, account_key
from consent_service.store.errors import StoreUnavailable
from consent_service.store.record_data import Applied, Change, Erased, Held, Lifetimes, device_keys, parse_record
from consent_service.store.records import Store
from consent_service.store.stats import StatsStore
from consent_service.store.trail import Trail, request_fields

__all__ = [
    "Account",
    "Accounts",
    "Applied",
    "Change",
    "Erased",
    "Held",
    "Lifetimes",
    "StatsStore",
    "Store",
    "StoreUnavailable",
    "Trail",
    "account_key",
    "device_keys",
    "parse_record",
    "request_fields",
]
