//! Reading a flow: its JSON, each block's parameters held to what its page
//! of the flow language allows, and the whole held to [`super::check`]'s rules;
//! every refusal collected, so one reading reports them all.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    check, params, unpublished, Action, Block, Collect, Flow, FlowError, FlowType, Refused,
    LAMBDA_RETURNED, WAIT_COMPLETED,
};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FlowShape {
    version: Option<String>,
    start_action: String,
    #[serde(default)]
    metadata: Option<Value>,
    actions: Vec<ActionShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ActionShape {
    identifier: String,
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    #[serde(default)]
    transitions: TransitionsShape,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct TransitionsShape {
    next_action: Option<String>,
    #[serde(default)]
    conditions: Vec<ConditionShape>,
    #[serde(default)]
    errors: Vec<ErrorShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConditionShape {
    next_action: String,
    condition: ConditionBody,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConditionBody {
    operator: String,
    operands: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorShape {
    next_action: String,
    error_type: String,
}

/// The flow of `text`, or every reason it cannot be loaded.
pub(super) fn flow(text: &str) -> Result<Flow, Refused> {
    let shape: FlowShape = serde_json::from_str(text).map_err(|err| Refused {
        refusals: vec![err.into()],
    })?;
    let mut out = Collect::default();
    check::whole(
        text,
        shape.version.as_deref(),
        shape.actions.len(),
        &mut out,
    );
    let flow_type = out
        .keep(check::flow_type(shape.metadata.as_ref()))
        .unwrap_or(unpublished::FLOW_TYPE_WHEN_UNDECLARED);
    let ids: HashSet<String> = shape.actions.iter().map(|a| a.identifier.clone()).collect();
    check::identifiers(
        shape.actions.iter().map(|a| a.identifier.as_str()),
        &mut out,
    );
    let mut actions = HashMap::new();
    for shape in shape.actions {
        if let Some((id, action)) = action(shape, flow_type, &ids, &mut out) {
            // A duplicate is refused by `check::identifiers`; the first stands.
            actions.entry(id).or_insert(action);
        }
    }
    no_wait_while_waiting(&actions, &mut out);
    if !ids.contains(&shape.start_action) {
        out.refuse(FlowError::DanglingTransition {
            from: "StartAction".into(),
            to: shape.start_action.clone(),
        });
    }
    match out.0.is_empty() {
        true => Ok(Flow {
            start: shape.start_action,
            actions,
            kind: flow_type,
        }),
        false => Err(Refused { refusals: out.0 }),
    }
}

/// One action, read and checked; `None` if its block cannot be read.
fn action(
    shape: ActionShape,
    flow_type: FlowType,
    ids: &HashSet<String>,
    out: &mut Collect,
) -> Option<(String, Action)> {
    let id = shape.identifier.clone();
    let t = &shape.transitions;
    let errors: Vec<(String, String)> = t
        .errors
        .iter()
        .map(|e| (e.error_type.clone(), e.next_action.clone()))
        .collect();
    check::allowed(&id, &shape.kind, flow_type, out);
    let empty = t.next_action.is_none() && t.conditions.is_empty() && errors.is_empty();
    check::branches(&id, &shape.kind, &errors, empty, out);
    // Every operator the simulator plays takes "Operand count: One" ("Actions
    // in the Amazon Connect Flow Language", Conditions).
    if t.conditions.iter().any(|c| c.condition.operands.len() != 1) {
        out.refuse(FlowError::Invalid {
            id: id.clone(),
            problem: "a condition without exactly one operand".into(),
        });
    }
    let conditions: Vec<(String, String, String)> = t
        .conditions
        .iter()
        .map(|c| {
            let operand = c.condition.operands.first().cloned().unwrap_or_default();
            (c.condition.operator.clone(), operand, c.next_action.clone())
        })
        .collect();
    let targets = t
        .next_action
        .iter()
        .chain(conditions.iter().map(|(_, _, to)| to))
        .chain(errors.iter().map(|(_, to)| to));
    for to in targets.filter(|to| !ids.contains(*to)) {
        out.refuse(FlowError::DanglingTransition {
            from: id.clone(),
            to: to.clone(),
        });
    }
    let action = Action {
        block: params::block(&id, &shape.kind, &shape.parameters, out)?,
        next: shape.transitions.next_action,
        conditions,
        errors,
    };
    out.keep(check_conditions(&id, &action))?;
    Some((id, action))
}

/// The conditions a block may have: `Equals` only, a Loop's two results, and
/// a Wait's `WaitCompleted` and events, each required (the flow language's
/// Loop: "there must be a Condition provided for Equals ContinueLooping and for
/// Equals DoneLooping"; Wait: "WaitCompleted is always required operand, and
/// every specified event is also required").
fn check_conditions(id: &str, action: &Action) -> Result<(), FlowError> {
    let invalid = |problem: String| FlowError::Invalid {
        id: id.to_owned(),
        problem,
    };
    if let Some((op, ..)) = action.conditions.iter().find(|(op, ..)| op != "Equals") {
        return Err(invalid(format!("the operator {op} is not played")));
    }
    let (required, optional): (&[&str], &[&str]) = match &action.block {
        Block::Loop { .. } => (&["ContinueLooping", "DoneLooping"], &[]),
        // Keep running while waiting adds its Continue branch.
        Block::Wait { .. } => (&[LAMBDA_RETURNED, WAIT_COMPLETED], &[unpublished::CONTINUE]),
        Block::Compare { .. } => return Ok(()),
        _ if action.conditions.is_empty() => return Ok(()),
        _ => return Err(invalid("conditions on a block that has none".into())),
    };
    let operands: Vec<&str> = action
        .conditions
        .iter()
        .map(|(_, o, _)| o.as_str())
        .collect();
    match required.iter().find(|r| !operands.contains(r)) {
        Some(missing) => Err(invalid(format!("no condition for {missing}"))),
        None => match operands
            .iter()
            .find(|o| !required.contains(o) && !optional.contains(o))
        {
            Some(extra) => Err(invalid(format!(
                "a condition for {extra}, which it never gives"
            ))),
            None => Ok(()),
        },
    }
}

/// "Wait blocks can't be nested inside a Continue branch" (the Administrator
/// Guide, "Flow block in Amazon Connect: Wait"): no Wait is reachable from a
/// keep-running Wait's Continue branch before the flow leaves it.
fn no_wait_while_waiting(actions: &HashMap<String, Action>, out: &mut Collect) {
    for (id, action) in actions {
        let Some(first) = action.condition(unpublished::CONTINUE) else {
            continue;
        };
        let (mut seen, mut next) = (HashSet::new(), vec![first]);
        while let Some(at) = next.pop() {
            let Some(reached) = actions.get(at).filter(|_| seen.insert(at)) else {
                continue;
            };
            if matches!(reached.block, Block::Wait { .. }) {
                out.refuse(FlowError::Invalid {
                    id: id.clone(),
                    problem: format!("its Continue branch reaches the Wait {at}, and a Wait cannot run inside a Continue branch"),
                });
                break;
            }
            next.extend(reached.targets());
        }
    }
}
