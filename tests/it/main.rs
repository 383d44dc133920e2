//! The one integration-test binary: drives the real `loadplan` binary.
