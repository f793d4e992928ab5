"""The store: the only package that talks to Redis (records and their Lua write, a lean reader)."""

from consent_service.store.records import (
    Applied,
    Change,
    Lifetimes,
    Store,
    StoreUnavailable,
    device_keys,
    parse_record,
)

__all__ = ["Applied", "Change", "Lifetimes", "Store", "StoreUnavailable", "device_keys", "parse_record"]
