//! The HTTP API over a real listening socket and a real SQLite file.

#![cfg(feature = "http")]

mod auth;
mod bulk;
#[path = "../common/mod.rs"]
mod common;
mod cron;
mod errors;
mod events;
mod fuzz;
mod jobs;
mod metrics;
mod mount;
mod pages;
mod queues;
mod serve;
mod support;
