//! What the functions of this workspace have in common: the Rules Engine's state
//! table and the integration runs kept in it.
//!
//! The modules are layers, declared below in their order: each uses only the
//! layers before it, so there is no cycle to untangle when one changes.
//!
//! 1. **The vocabulary.** [`ids`] and [`status`]: the domain words as types
//!    (`ContactId`, `RunId`, `IntegrationStatus`), parsed once at the boundary;
//!    [`keys`]: the names the state goes by, and how a rule's numbers read;
//!    [`limits`]; [`table`]: the state table, defined once for the template and
//!    the tests; [`time`]: the Rules Engine's timestamp format; [`clock`]: the
//!    injectable clock and sleep that let tests stand a run past its deadline
//!    without waiting; [`config`]: configuration read once from the environment;
//!    [`telemetry`]: logging set-up, JSON on Lambda, no personal data.
//! 2. **State and runs.** [`state`]: a contact's state as JSON values, and the
//!    Rules Engine's rules for writing keys (dotted paths, JSON-looking strings,
//!    deletes), pure logic; [`runs`]: what a run is, and what a transition can
//!    come back with.
//! 3. **The store**, [`store`]: every read and write of a contact's state and
//!    runs (the stream consumer adds its stamp and its sweep's query, through
//!    the store's client, in its own crate).
//! 4. **Connect's contract and waiting.** [`connect`]: what Amazon Connect
//!    sends and accepts back (a lenient reading of its events, the keep-warm
//!    ping, the flat, size-limited answer); [`waiting`]: how start and
//!    check-timeout wait for a run while Connect holds the line, status reads on
//!    a growing interval within a budget.
//! 5. **The integration framework**, [`integration`]: a function is only its
//!    work, `async fn(&IntegrationContext, &str) -> Result<String, Cause>`, and
//!    [`integration::handle`] validates, marks the run, records `DONE`/`ERROR`
//!    and logs the Rules Engine's analytics, for requests from start and for
//!    Connect's own asynchronous Lambda block alike.

// 1. The vocabulary.
pub mod clock;
pub mod config;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod status;
pub mod table;
pub mod telemetry;
pub mod time;
// 2. State and runs.
pub mod runs;
pub mod state;
// 3. The store.
pub mod store;
// 4. Connect's contract and waiting.
pub mod connect;
pub mod waiting;
// 5. The integration framework.
pub mod integration;

pub use clock::{Clock, SystemClock};
pub use config::{Config, ConfigError};
pub use ids::{ContactId, IdError, RunId};
pub use runs::{Refusal, Run, RunStart, StatusItem, Transition};
pub use state::{ContactState, ItemChange, StateError};
pub use status::IntegrationStatus;
pub use store::{Store, StoreError};

#[cfg(test)]
mod layers;
