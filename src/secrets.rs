//! Secrets that must never reach output or results: environment values the plan's
//! templates read, and credentials extracted at run time. One list, masked longest first so
//! a secret that contains another (`demo-password`, `demo`) is hidden whole.

/// Known secrets, kept longest first.
#[derive(Debug, Default, Clone)]
pub struct Secrets {
    values: Vec<String>,
}

/// Most secrets kept: renewed tokens of many users would otherwise pile up.
const MAX_SECRETS: usize = 4096;

impl Secrets {
    /// A list from known values; values shorter than 3 characters are ignored (they would
    /// mask digits and letters everywhere).
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut s = Secrets::default();
        for v in values {
            s.add(&v);
        }
        s
    }

    /// Adds a secret, and the forms a URL gives it (a key with `+` or `/` sent in a query
    /// reads `%2B`, `%2F` there).
    pub fn add(&mut self, value: &str) {
        let form: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        let percent =
            percent_encoding::utf8_percent_encode(value, crate::engine::request::NOT_IN_TARGET)
                .to_string();
        for v in [value, form.as_str(), percent.as_str()] {
            self.add_one(v);
        }
    }

    fn add_one(&mut self, value: &str) {
        if value.len() < 3 || self.values.iter().any(|v| v == value) {
            return;
        }
        if self.values.len() >= MAX_SECRETS {
            // Forget the shortest: the oldest token is as likely to be live as any other.
            self.values.pop();
        }
        let at = self.values.partition_point(|v| v.len() >= value.len());
        self.values.insert(at, value.to_owned());
    }

    /// The text with every secret replaced by `***`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.values {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_what_a_url_makes_of_a_secret() {
        let s = Secrets::new(["k+y/1 2".to_owned()]);
        assert_eq!(
            s.mask("raw k+y/1 2, query k%2By%2F1+2, path k+y/1%202"),
            "raw ***, query ***, path ***"
        );
    }

    #[test]
    fn masks_longest_first() {
        let s = Secrets::new([
            "demo".to_owned(),
            "demo-password".to_owned(),
            "x".to_owned(),
        ]);
        assert_eq!(
            s.mask("user demo, password demo-password, x"),
            "user ***, password ***, x"
        );
    }
}
