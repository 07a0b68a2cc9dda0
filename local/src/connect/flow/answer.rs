//! A Lambda function's answer as the flow reads it: by the block's
//! `ResponseValidation` (the flow language's InvokeLambdaFunction: "If response
//! validation is set to STRING_MAP, then the Lambda function should return a
//! flat object of key/value pairs of the string type. Otherwise, if response
//! validation is set to JSON, the Lambda function can return any valid JSON,
//! including nested JSON"), and within Connect's size limit (the Administrator
//! Guide, "Grant Amazon Connect access to your AWS Lambda functions": "The
//! Lambda response can be up to 32kb. If ... the response is not understood
//! ..., the flow jumps to the Error label").

use serde_json::{Map, Value};

use super::unpublished::{answer_object, MOST_ANSWER_BYTES};

/// A block's `ResponseValidation.ResponseType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `STRING_MAP`: a flat object of strings.
    StringMap,
    /// `JSON`: any object, nested or not.
    Json,
}

impl ResponseType {
    /// The block's `ResponseValidation`, which "Must be set statically" (the
    /// flow language's InvokeLambdaFunction) and which "You must set ... when
    /// you configure the AWS Lambda function block" (the Administrator Guide,
    /// "Flow block in Amazon Connect: AWS Lambda function"): required.
    pub(super) fn from_parameter(validation: Option<&Value>) -> Result<Self, String> {
        let Some(validation) = validation else {
            return Err("lacks ResponseValidation, which Connect requires".into());
        };
        match validation.get("ResponseType").and_then(Value::as_str) {
            Some("STRING_MAP") => Ok(ResponseType::StringMap),
            Some("JSON") => Ok(ResponseType::Json),
            _ => Err(format!(
                "ResponseValidation {validation} is not a static ResponseType STRING_MAP or JSON"
            )),
        }
    }
}

/// The answer `payload` as the flow takes it under `$.External`, or why it is
/// not understood (the block's error branch).
pub fn read(payload: &[u8], response: ResponseType) -> Result<Map<String, Value>, String> {
    if payload.len() > MOST_ANSWER_BYTES {
        return Err(format!(
            "the answer is {} bytes, over Connect's 32 KB",
            payload.len()
        ));
    }
    let value: Value =
        serde_json::from_slice(payload).map_err(|_| "the answer is not JSON".to_owned())?;
    let answer = answer_object(value).ok_or("the answer is not a JSON object")?;
    match response {
        ResponseType::StringMap if !answer.values().all(Value::is_string) => {
            Err("the answer is not a flat map of strings (ResponseType STRING_MAP)".into())
        }
        _ => Ok(answer),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn bytes(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    /// The flow language's InvokeLambdaFunction, ResponseValidation: STRING_MAP
    /// is "a flat object of key/value pairs of the string type", JSON "any
    /// valid JSON, including nested JSON".
    #[test]
    fn string_map_takes_only_a_flat_map_of_strings_and_json_takes_nested_answers() {
        let flat = bytes(json!({"IntegrationStatus": "DONE"}));
        let nested = bytes(json!({"IntegrationStatus": "DONE", "Account": {"Id": "A-1"}}));
        let number = bytes(json!({"Count": 3}));
        assert!(read(&flat, ResponseType::StringMap).is_ok());
        assert!(read(&nested, ResponseType::StringMap).is_err());
        assert!(read(&number, ResponseType::StringMap).is_err());
        assert_eq!(
            read(&nested, ResponseType::Json).unwrap()["Account"]["Id"],
            "A-1"
        );
        assert!(read(&number, ResponseType::Json).is_ok());
        // Not an object: nothing to put under $.External (unpublished::answer_object).
        assert!(read(b"[1, 2]", ResponseType::Json).is_err());
        assert!(read(b"not json", ResponseType::Json).is_err());
    }

    /// The Administrator Guide, "Grant Amazon Connect access to your AWS
    /// Lambda functions": "must be less than 32 KB of UTF-8 data".
    #[test]
    fn an_answer_of_32_kb_or_more_is_not_understood() {
        let of_size = |size: usize| {
            let frame = bytes(json!({"K": ""})).len();
            bytes(json!({"K": "é".repeat((size - frame) / 2)}))
        };
        let under = of_size(32 * 1024 - 2);
        assert!(under.len() < 32 * 1024, "{}", under.len());
        assert!(read(&under, ResponseType::StringMap).is_ok());
        let at = of_size(32 * 1024);
        assert_eq!(at.len(), 32 * 1024);
        let err = read(&at, ResponseType::StringMap).unwrap_err();
        assert!(err.contains("32 KB"), "{err}");
    }

    /// ResponseValidation "Must be set statically" (the flow language's
    /// InvokeLambdaFunction); "You must set it" (the Administrator Guide, AWS
    /// Lambda function block).
    #[test]
    fn response_validation_is_required_and_static() {
        let of = |v: Value| ResponseType::from_parameter(Some(&v));
        assert!(ResponseType::from_parameter(None).is_err());
        assert_eq!(of(json!({"ResponseType": "JSON"})), Ok(ResponseType::Json));
        assert!(of(json!({"ResponseType": "$.External.Type"})).is_err());
        assert!(of(json!({"ResponseType": "string_map"})).is_err());
    }
}
