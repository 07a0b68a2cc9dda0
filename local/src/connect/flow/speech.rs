//! How long a prompt plays: text and SSML spoken at a speaking rate (SSML's
//! tags are not spoken; its `<break time="…"/>` pauses are), a stored prompt
//! for the length of its recording, which the simulator does not have.

use std::time::Duration;

use super::Prompt;

/// How the simulator's caller hears prompts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speech {
    /// Words spoken a second: 2.5 is 150 words a minute, text-to-speech's
    /// usual pace.
    pub words_per_second: f64,
    /// How long a stored prompt plays.
    pub stored_prompt: Duration,
    /// Every prompt plays this long instead (`--message-seconds`).
    pub fixed: Option<Duration>,
}

impl Default for Speech {
    fn default() -> Self {
        Self {
            words_per_second: 2.5,
            stored_prompt: Duration::from_secs(3),
            fixed: None,
        }
    }
}

/// Nothing plays shorter than this: a prompt takes a moment to start and end.
const SHORTEST: Duration = Duration::from_millis(500);

impl Speech {
    /// How long `prompt` plays.
    pub fn length(&self, prompt: &Prompt) -> Duration {
        if let Some(fixed) = self.fixed {
            return fixed;
        }
        let spoken = |words: usize| Duration::from_secs_f64(words as f64 / self.words_per_second);
        let length = match prompt {
            Prompt::Text(text) => spoken(text.split_whitespace().count()),
            Prompt::Ssml(ssml) => {
                let (text, pauses) = ssml_text(ssml);
                spoken(text.split_whitespace().count()) + pauses
            }
            Prompt::Stored(_) => self.stored_prompt,
        };
        length.max(SHORTEST)
    }
}

/// The words of `ssml` (its tags dropped) and the pauses its breaks ask for.
/// Text that is not SSML is all words.
fn ssml_text(ssml: &str) -> (String, Duration) {
    let mut text = String::new();
    let mut pauses = Duration::ZERO;
    let mut rest = ssml;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push(' ');
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        if tag.trim_start().starts_with("break") {
            pauses += break_time(tag);
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    (text, pauses)
}

/// A `<break>` tag's `time` (`500ms`, `2s`); a break without one is SSML's
/// medium pause, taken as 400 ms.
fn break_time(tag: &str) -> Duration {
    let value = tag.split("time=").nth(1).and_then(|v| {
        let v = v.trim_start_matches(['"', '\'']);
        v.split(['"', '\'']).next()
    });
    let parsed = value.and_then(|v| {
        if let Some(ms) = v.strip_suffix("ms") {
            ms.parse::<f64>().ok().map(|ms| ms / 1000.0)
        } else {
            v.strip_suffix('s').and_then(|s| s.parse::<f64>().ok())
        }
    });
    parsed
        .filter(|s| s.is_finite() && *s >= 0.0 && *s <= 10.0)
        .map_or(Duration::from_millis(400), Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_ssml_play_for_their_words_and_ssml_for_its_breaks_too() {
        let speech = Speech::default();
        let ten_words = "one two three four five six seven eight nine ten";
        assert_eq!(
            speech.length(&Prompt::Text(ten_words.into())),
            Duration::from_secs(4)
        );
        let ssml =
            format!(r#"<speak>{ten_words}<break time="1500ms"/> <break time='2s'/></speak>"#);
        assert_eq!(
            speech.length(&Prompt::Ssml(ssml)),
            Duration::from_millis(7500)
        );
        // SSML given as plain text (a `text` rule's message) is all words.
        assert_eq!(
            speech.length(&Prompt::Ssml(ten_words.into())),
            Duration::from_secs(4)
        );
        assert_eq!(
            speech.length(&Prompt::Stored("arn:aws:connect:…:prompt/p".into())),
            Duration::from_secs(3)
        );
        assert_eq!(speech.length(&Prompt::Text("Hi".into())), SHORTEST);
    }

    #[test]
    fn a_fixed_length_overrides_the_words() {
        let speech = Speech {
            fixed: Some(Duration::from_millis(1500)),
            ..Speech::default()
        };
        assert_eq!(
            speech.length(&Prompt::Text("a long message of many words".into())),
            Duration::from_millis(1500)
        );
    }
}
