//! IAM on the local stack. DynamoDB Local and the Invoke API accept any
//! request; AWS checks each against the caller's role. Here each function is
//! given an access key that names its role in `infra/template.yaml`
//! ([`Role::env`]), and its requests go through the [`gate`], which allows a
//! request only when the role's statements, resolved as CloudFormation would
//! for the local table ([`Policies::for_stack`]), grant every action AWS
//! requires for it ([`needs`]), and otherwise answers as AWS does:
//! `AccessDeniedException`. A key that names no role (the tests' own set-up,
//! the original Rules Engine's stand-ins) is not checked.
//!
//! Every grant a check used is recorded under `IAM_USAGE_DIR` when that is set,
//! so that the test command can list the grants nothing used ([`usage`]).

use std::{collections::BTreeMap, fmt};

use serde_yaml_ng::Value;

pub mod gate;
pub mod needs;
pub mod template;
pub mod usage;

pub use needs::Need;

/// The account and region the local stack's ARNs are written in.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
pub const PARTITION: &str = "aws";

/// The functions start may invoke on the local stack (its `ALLOWED_FUNCTIONS`),
/// and so the template's `AllowedFunctions` its role is resolved with there.
pub const LOCAL_ALLOWED_FUNCTIONS: &str = "integration-*";

/// `infra/template.yaml`, as committed.
pub const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

/// The template's function roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Start,
    CheckTimeout,
    Echo,
    Consumer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Start, Role::CheckTimeout, Role::Echo, Role::Consumer];

    /// The role's logical id in the template; also the access key that
    /// identifies it to the gate.
    pub fn logical_id(self) -> &'static str {
        match self {
            Role::Start => "StartRole",
            Role::CheckTimeout => "CheckTimeoutRole",
            Role::Echo => "EchoRole",
            Role::Consumer => "ConsumerRole",
        }
    }

    /// The role whose access key this is.
    pub fn from_access_key(key: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.logical_id() == key)
    }

    /// The role the template gives the function built as `binary`.
    pub fn of_function(binary: &str) -> Option<Role> {
        match binary {
            "integration-start" => Some(Role::Start),
            "check-timeout" => Some(Role::CheckTimeout),
            "integration-echo" => Some(Role::Echo),
            "stream-consumer" => Some(Role::Consumer),
            _ => None,
        }
    }

    /// The credentials a function of this role is given.
    pub fn env(self) -> [(String, String); 2] {
        [
            ("AWS_ACCESS_KEY_ID".into(), self.logical_id().into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "local".into()),
        ]
    }

    /// The SDK's credentials for this role, for a client in a test.
    pub fn credentials(self) -> aws_sdk_dynamodb::config::Credentials {
        aws_sdk_dynamodb::config::Credentials::new(
            self.logical_id(),
            "local",
            None,
            None,
            "local-iam",
        )
    }
}

/// The role whose key signed a request: the access key id in SigV4's
/// `Authorization` header (`... Credential=KEY/date/region/service/...`).
pub fn caller(authorization: Option<&str>) -> Option<Role> {
    let credential = authorization?.split("Credential=").nth(1)?;
    Role::from_access_key(credential.split('/').next()?)
}

/// One statement of a role's policies, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

impl Statement {
    fn covers(&self, need: &Need) -> bool {
        self.actions
            .iter()
            .any(|a| matches_pattern(&a.to_ascii_lowercase(), &need.action.to_ascii_lowercase()))
            && self
                .resources
                .iter()
                .any(|r| matches_pattern(r, &need.resource))
    }
}

/// A need no statement allows (or one denies), in AWS's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub role: Role,
    pub need: Need,
    /// A statement denies it, rather than none allowing it.
    pub explicitly: bool,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let because = if self.explicitly {
            "with an explicit deny in an identity-based policy".to_owned()
        } else {
            format!(
                "because no identity-based policy allows the {} action",
                self.need.action
            )
        };
        write!(
            f,
            "User: arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{role}/local is not authorized to perform: {action} on resource: {resource} {because}",
            role = self.role.logical_id(),
            action = self.need.action,
            resource = self.need.resource,
        )
    }
}

/// The function roles' statements for one stack.
#[derive(Debug, Clone)]
pub struct Policies {
    roles: BTreeMap<Role, Vec<Statement>>,
}

impl Policies {
    /// The roles as `infra/template.yaml` grants them in a stack whose state
    /// table is `table` (created by the stack) and whose start may invoke
    /// `allowed_functions` (the `AllowedFunctions` parameter; empty: the
    /// template's default).
    pub fn for_stack(table: &str, allowed_functions: &str) -> Self {
        // Read once: every test table resolves its own stack from it.
        static TEMPLATE_YAML: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        let template = TEMPLATE_YAML
            .get_or_init(|| serde_yaml_ng::from_str(TEMPLATE).expect("the template is YAML"));
        let mut stack = template::Stack::new(template, &[("AllowedFunctions", allowed_functions)])
            .with_resource("StateTable", table);
        (stack.partition, stack.region, stack.account) = (PARTITION, REGION, ACCOUNT);
        let roles = Role::ALL
            .into_iter()
            .map(|role| {
                let policies = &template["Resources"][role.logical_id()]["Properties"]["Policies"];
                (role, statements(&stack.resolve(policies)))
            })
            .collect();
        Self { roles }
    }

    /// These policies with `action` taken from every statement of `role`: a
    /// role that lacks one grant, for a test of what its function does when
    /// refused.
    pub fn without(mut self, role: Role, action: &str) -> Self {
        for statement in self.roles.get_mut(&role).into_iter().flatten() {
            statement.actions.retain(|a| a != action);
        }
        self
    }

    /// The statements of `role`.
    pub fn statements(&self, role: Role) -> &[Statement] {
        &self.roles[&role]
    }

    /// Allows `role` every one of `needs`, recording the grants used in
    /// `usage`, or refuses the request at the first need not allowed, logged
    /// as `IAM_DENIED`: what the gate and the Lambda front both do.
    pub fn allow(&self, role: Role, needs: &[Need], usage: &usage::Usage) -> Result<(), Denied> {
        let mut allowed = Vec::with_capacity(needs.len());
        for need in needs {
            match self.check(role, need) {
                Ok(statement) => allowed.push(statement),
                Err(denied) => {
                    tracing::warn!(role = role.logical_id(), action = %need.action, resource = %need.resource, "IAM_DENIED");
                    return Err(denied);
                }
            }
        }
        // Grants count as used only by a request that went through.
        for (statement, need) in allowed.into_iter().zip(needs) {
            usage.record(role, statement, need);
        }
        Ok(())
    }

    /// The statement that allows `need` to `role`, or why not: an explicit
    /// deny wins, and nothing is allowed that no statement allows.
    pub fn check(&self, role: Role, need: &Need) -> Result<&Statement, Denied> {
        let statements = self.statements(role);
        let denied = |explicitly| Denied {
            role,
            need: need.clone(),
            explicitly,
        };
        if statements.iter().any(|s| !s.allow && s.covers(need)) {
            return Err(denied(true));
        }
        statements
            .iter()
            .find(|s| s.allow && s.covers(need))
            .ok_or_else(|| denied(false))
    }
}

/// The statements of a resolved `Policies` list.
fn statements(policies: &template::Resolved) -> Vec<Statement> {
    use template::Resolved;
    let field = |map: &BTreeMap<String, Resolved>, name: &str| {
        map.get(name).map(Resolved::texts).unwrap_or_default()
    };
    let Resolved::List(policies) = policies else {
        panic!("a role's Policies is a list")
    };
    let mut out = Vec::new();
    for policy in policies {
        let Resolved::Map(policy) = policy else {
            panic!("a policy is a mapping")
        };
        let Some(Resolved::Map(document)) = policy.get("PolicyDocument") else {
            panic!("a policy has a PolicyDocument")
        };
        let Some(Resolved::List(list)) = document.get("Statement") else {
            panic!("a policy document has statements")
        };
        for statement in list {
            let Resolved::Map(statement) = statement else {
                panic!("a statement is a mapping")
            };
            // What the gate does not evaluate must not be read as granted.
            for key in statement.keys() {
                assert!(
                    ["Sid", "Effect", "Action", "Resource"].contains(&key.as_str()),
                    "the IAM gate does not evaluate a statement's {key}: teach it"
                );
            }
            out.push(Statement {
                sid: field(statement, "Sid").concat(),
                allow: field(statement, "Effect").concat() == "Allow",
                actions: field(statement, "Action"),
                resources: field(statement, "Resource"),
            });
        }
    }
    out
}

/// IAM's wildcards: `*` any run of characters, `?` any one.
fn matches_pattern(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            (star, mark, pi) = (Some(pi), ti, pi + 1);
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            (pi, ti) = (pi + 1, ti + 1);
        } else if let Some(s) = star {
            (pi, mark, ti) = (s + 1, mark + 1, mark + 1);
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests;
