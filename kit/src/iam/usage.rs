//! Which grants the checks used, so that the test command can list every
//! granted action that nothing in the suite needed. Each gate appends what it
//! used, once a grant, to a file of its own under `IAM_USAGE_DIR` (one line:
//! role, statement id, action); [`used`] reads them all back.

use std::{
    collections::{BTreeSet, HashSet},
    io::Write,
    path::{Path, PathBuf},
    sync::Mutex,
};

use super::{Need, Role, Statement};

/// The variable naming the directory usage is recorded in.
pub const DIR_VARIABLE: &str = "IAM_USAGE_DIR";

/// One gate's record of the grants it used.
#[derive(Debug)]
pub struct Usage {
    file: Option<PathBuf>,
    seen: Mutex<HashSet<(Role, String, String)>>,
}

/// A grant: role, statement id, action.
pub type Grant = (String, String, String);

impl Usage {
    /// Recording under `IAM_USAGE_DIR`, or nowhere when it is not set.
    pub fn from_env() -> Self {
        let file = std::env::var_os(DIR_VARIABLE).map(|dir| {
            let dir = PathBuf::from(dir);
            let _ = std::fs::create_dir_all(&dir);
            dir.join(format!("{}.tsv", uuid::Uuid::new_v4().simple()))
        });
        Self {
            file,
            seen: Mutex::default(),
        }
    }

    /// Notes that `statement` of `role` allowed `need`.
    pub fn record(&self, role: Role, statement: &Statement, need: &Need) {
        let Some(file) = &self.file else { return };
        let key = (role, statement.sid.clone(), need.action.clone());
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.insert(key) {
            return;
        }
        let line = format!(
            "{}\t{}\t{}\n",
            role.logical_id(),
            statement.sid,
            need.action
        );
        if let Ok(mut out) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
        {
            let _ = out.write_all(line.as_bytes());
        }
    }
}

/// Every grant recorded under `dir`.
pub fn used(dir: &Path) -> std::io::Result<BTreeSet<Grant>> {
    let mut grants = BTreeSet::new();
    for entry in std::fs::read_dir(dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        for line in text.lines() {
            let mut fields = line.split('\t').map(str::to_owned);
            if let (Some(role), Some(sid), Some(action)) =
                (fields.next(), fields.next(), fields.next())
            {
                grants.insert((role, sid, action));
            }
        }
    }
    Ok(grants)
}
