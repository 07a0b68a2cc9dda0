//! Holds `infra/` to the code: `infra/template.yaml` (every function of the
//! workspace is in it and built by cargo-lambda, its state table is the one
//! `shared::table` defines, its roles grant nothing on `*` that could be
//! narrower nor outside the stack's partition, account and region, start's
//! role invokes exactly start's allow-list, every function name fits Lambda's
//! limit at the parameters' maxima, its rules refuse parameters that would fail
//! the deploy, and the stream mapping, Connect permissions and dashboard are
//! wired as the functions expect), the deploy around it (`infra/samconfig.toml`
//! and the documented procedure for an existing table), and
//! `infra/contact-flows/integration.json`, the flow to import into Connect.

mod allow_list;
mod consumer;
mod contact_flow;
mod deploy;
mod functions;
mod names;
mod policies;
mod rules;
mod table;
mod template;

use std::path::PathBuf;

/// The workspace root, which `infra/` and `functions/` are in.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
