//! What loading a manifest reports: located problems (fatal) and warnings (not fatal).

use std::fmt;

use crate::i18n::{Lang, Text};

use super::yaml::{FieldPath, Location, YamlError, YamlErrorKind};

/// One thing wrong with a manifest, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Option<Location>,
    /// The field at fault; `None` when the problem is the file or its YAML syntax.
    pub path: Option<FieldPath>,
    pub message: Text,
    pub expected: Option<Text>,
    pub hint: Option<Text>,
}

impl Problem {
    /// `file:line:column: field.path: what is wrong; expected what` and an optional hint line.
    pub fn render(&self, lang: Lang) -> String {
        let mut out = String::new();
        if let Some(location) = &self.location {
            out.push_str(&format!("{location}: "));
        }
        if let Some(path) = &self.path {
            out.push_str(&format!("{path}: "));
        }
        out.push_str(self.message.get(lang));
        if let Some(expected) = &self.expected {
            let lead = match lang {
                Lang::En => "; expected ",
                Lang::Zh => "；应为 ",
            };
            out.push_str(lead);
            out.push_str(expected.get(lang));
        }
        if let Some(hint) = &self.hint {
            let lead = match lang {
                Lang::En => "\n  hint: ",
                Lang::Zh => "\n  提示：",
            };
            out.push_str(lead);
            out.push_str(hint.get(lang));
        }
        out
    }
}

/// Why a manifest cannot be used: one or more located problems, earliest in the file first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    problems: Vec<Problem>,
}

impl SpecError {
    /// `problems` must not be empty; an empty list becomes a generic problem rather than a panic.
    pub fn new(mut problems: Vec<Problem>) -> SpecError {
        if problems.is_empty() {
            problems.push(Problem {
                location: None,
                path: None,
                message: Text::new("the manifest is invalid", "清单无效"),
                expected: None,
                hint: None,
            });
        }
        problems.sort_by_key(|p| p.location.as_ref().map(|l| (l.line, l.column)));
        SpecError { problems }
    }

    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The first problem in the file.
    pub fn first(&self) -> Option<&Problem> {
        self.problems.first()
    }

    /// Where the first problem is.
    pub fn location(&self) -> Option<&Location> {
        self.first().and_then(|p| p.location.as_ref())
    }

    pub fn render(&self, lang: Lang) -> String {
        let lines: Vec<String> = self.problems.iter().map(|p| p.render(lang)).collect();
        lines.join("\n")
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl std::error::Error for SpecError {}

impl From<YamlError> for SpecError {
    fn from(e: YamlError) -> SpecError {
        let zh_lead = match e.kind {
            YamlErrorKind::Io => "读取文件失败：",
            YamlErrorKind::TooLarge => "文件太大：",
            YamlErrorKind::NotText => "这不是文本文件：",
            YamlErrorKind::Syntax => "YAML 语法错误：",
            YamlErrorKind::Empty => "文件中没有 YAML 文档：",
            YamlErrorKind::MultipleDocuments => "一个文件里只能有一个 YAML 文档：",
            YamlErrorKind::TooDeep => "嵌套层数太多：",
            YamlErrorKind::TooManyNodes => "别名展开后的值太多（YAML 炸弹？）：",
            YamlErrorKind::DuplicateKey => "同一个映射中键重复：",
            YamlErrorKind::ComplexKey => "映射的键必须是普通文本：",
            YamlErrorKind::UnsupportedTag => "不支持的标签：",
            YamlErrorKind::Type => "类型不对：",
        };
        let both = |en: String| {
            let zh = format!("{zh_lead}{en}");
            Text::new(en, zh)
        };
        let location = (e.kind != YamlErrorKind::Io).then_some(e.location);
        SpecError::new(vec![Problem {
            location,
            path: e.path,
            message: both(e.message),
            expected: e.expected.map(|x| Text::new(x.clone(), expected_zh(&x))),
            hint: e.hint.map(|h| {
                let zh = if h.contains("tabs") {
                    "YAML 缩进只能用空格，不能用 Tab".to_string()
                } else {
                    h.clone()
                };
                Text::new(h, zh)
            }),
        }])
    }
}

/// Chinese for the "expected …" phrases the YAML door produces; others stay English.
fn expected_zh(en: &str) -> String {
    use super::quantity::QuantityError;
    let zh = match en {
        "a whole number from 0 to 255" => "0 到 255 之间的整数",
        "a whole number from 0 to 65535" => "0 到 65535 之间的整数",
        "a whole number from 0 to 4294967295" => "0 到 4294967295 之间的整数",
        "a whole number, 0 or more" => "0 或更大的整数",
        "a whole number" => "整数",
        "a number" => "数字",
        "a list" => "列表",
        "a mapping" => "映射",
        "a string" => "字符串",
        "a boolean" => "布尔值（true 或 false）",
        "a port number (1-65535) or the name of a container port" => {
            "端口号（1-65535）或容器端口的名字"
        }
        "well-formed YAML (or JSON)" => "格式正确的 YAML（或 JSON）",
        "a UTF-8 text file" => "UTF-8 文本文件",
        "a manifest of at most 1 MiB" => "不超过 1 MiB 的清单",
        "exactly one document: put each manifest in its own file" => {
            "恰好一个文档：每个清单放在单独的文件里"
        }
        "a small manifest; aliases that multiply are refused" => {
            "小的清单；会成倍展开的别名会被拒绝"
        }
        "a manifest nested at most a few levels" => "只嵌套几层的清单",
        "each key once" => "每个键只出现一次",
        "plain text keys such as `name:`" => "普通文本键，例如 `name:`",
        other if other == QuantityError::EXPECTED => {
            "数量，例如 250m、0.5、2、64Mi、1Gi、1G 或 1e3（不带空格，后缀紧跟数字）"
        }
        other => match other.strip_suffix(" to be set") {
            Some(field) => return format!("设置 {field}"),
            None => return other.to_string(),
        },
    };
    zh.to_string()
}

/// Something in the manifest podlab does not act on: never fatal, never silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The field, e.g. `spec.affinity`.
    pub path: String,
    pub location: Option<Location>,
    /// English text (see `text` for both languages).
    pub message: String,
    pub text: Text,
}

impl Warning {
    pub fn new(path: &FieldPath, location: Option<Location>, text: Text) -> Warning {
        Warning {
            path: path.to_string(),
            location,
            message: text.en.clone(),
            text,
        }
    }

    /// `file:line:column: warning: message`.
    pub fn render(&self, lang: Lang) -> String {
        let lead = match lang {
            Lang::En => "warning: ",
            Lang::Zh => "警告：",
        };
        match &self.location {
            Some(location) => format!("{location}: {lead}{}", self.text.get(lang)),
            None => format!("{lead}{}", self.text.get(lang)),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}
