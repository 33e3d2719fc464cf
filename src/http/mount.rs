//! Where the router is mounted, so pages can link to it.

/// The path the router is mounted under (`""` at the root, `/jobs-admin`
/// when nested there), from the request's original path and the path the
/// router saw.
pub(crate) fn prefix<'a>(original: &'a str, inner: &str) -> &'a str {
    original
        .trim_end_matches('/')
        .strip_suffix(inner.trim_end_matches('/'))
        .unwrap_or("")
        .trim_end_matches('/')
}

/// `text` safe inside an HTML attribute value.
pub(crate) fn escape_attribute(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_mount_path() {
        assert_eq!(prefix("/", "/"), "");
        assert_eq!(prefix("/jobs-admin", "/"), "/jobs-admin");
        assert_eq!(prefix("/jobs-admin/", "/"), "/jobs-admin");
        assert_eq!(prefix("/login", "/login"), "");
        assert_eq!(prefix("/a/b/login", "/login"), "/a/b");
    }

    #[test]
    fn escapes_attributes() {
        assert_eq!(
            escape_attribute(r#"/a"><x y='1'&"#),
            "/a&quot;&gt;&lt;x y=&#39;1&#39;&amp;"
        );
    }
}
