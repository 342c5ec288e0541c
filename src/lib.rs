//! dehandler configures a container's network from its labels, from outside the container:
//! addresses, routes and policy rules in its network namespace, routes on the host, and a
//! user script, applied when the container starts.

pub mod config;
pub mod configure;
pub mod instance;
pub mod iproute;
pub mod journal;
pub mod labels;
pub mod logging;
pub mod netlink;
pub mod netns;
pub mod plugin;
pub mod policy;
pub mod scripts;
pub mod service;
pub mod status;
pub mod watcher;
