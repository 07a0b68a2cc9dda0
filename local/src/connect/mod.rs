//! Amazon Connect's stand-in: the contact [`flow`] of `infra/contact-flows`,
//! interpreted block by block, and the [`simulator`] that plays contacts
//! through it against the local stack.

pub mod flow;
pub mod simulator;
