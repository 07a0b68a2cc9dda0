//! What the functions of this workspace have in common: the Rules Engine's state
//! table and the integration runs kept in it.
//!
//! - [`ids`] and [`status`]: the domain words as types (`ContactId`, `RunId`,
//!   `IntegrationStatus`), parsed once at the boundary.
//! - [`time`]: the Rules Engine's timestamp format, and [`clock`], the injectable
//!   clock and sleep that let tests stand a run past its deadline without waiting.
//! - [`state`]: a contact's state as JSON values, and the Rules Engine's rules for
//!   writing keys (dotted paths, JSON-looking strings, deletes). Pure logic.
//! - [`runs`]: what a run is, and what a transition can come back with.
//! - [`table`]: the state table, defined once for the template and the tests.
//! - [`store`]: the only module that talks to DynamoDB.
//! - [`config`]: configuration read once from the environment.
//! - [`connect`]: what Amazon Connect sends and accepts back: a lenient reading of
//!   its events, the keep-warm ping, and the flat, size-limited answer.
//! - [`integration`]: the integration function framework: a function is only its
//!   work, `async fn(&IntegrationContext, &str) -> Result<String, Cause>`, and
//!   [`integration::handle`] validates, marks the run, records `DONE`/`ERROR` and
//!   logs the Rules Engine's analytics, for requests from start and for Connect's
//!   own asynchronous Lambda block alike.
//! - [`waiting`]: how start and check-timeout wait for a run while Connect holds
//!   the line: status reads on a growing interval within a budget.
//! - [`telemetry`]: logging set-up, JSON on Lambda, no personal data.

pub mod clock;
pub mod config;
pub mod connect;
pub mod ids;
pub mod integration;
pub mod runs;
pub mod state;
pub mod status;
pub mod store;
pub mod table;
pub mod telemetry;
pub mod time;
pub mod waiting;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigError};
pub use ids::{ContactId, IdError, RunId};
pub use runs::{Refusal, Run, RunStart, StatusRecord, Transition};
pub use state::{ContactState, ItemChange, StateError};
pub use status::IntegrationStatus;
pub use store::{Store, StoreError};
