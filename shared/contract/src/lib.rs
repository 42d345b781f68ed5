//! One contract test suite for the storage ports, run against every backend so they cannot drift.
