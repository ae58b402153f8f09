//! The CIFAR-10 readers on fixtures written here (good ones, every malformed kind,
//! archives), on the python sample and on the real data; and the binary's one-line
//! errors on bad data.

#[path = "../common/mod.rs"]
mod common;
mod fixtures;

mod cli;
mod good;
mod hostile;
mod malformed;
mod pickle;
mod real;
