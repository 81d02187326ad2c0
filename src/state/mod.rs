//! Zero-copy model of a Terraform state file, format version 4.
//!
//! [`parse`] reads a state from bytes the caller keeps alive and returns a
//! borrowed [`State`]: strings borrow from the input when they contain no JSON
//! escapes, and attribute objects are kept as
//! [`&RawValue`](serde_json::value::RawValue) slices of the original bytes,
//! so nothing is re-serialised and numbers of any size or precision survive
//! (the original bytes stay authoritative; see [`set_serial`] for the only
//! edit this module makes).
//!
//! Encrypted OpenTofu states (`{"serial","lineage","meta","encrypted_data",
//! "encryption_version"}`) are recognised and reported as the dedicated
//! [`ParseError::Encrypted`] error: they are never parsed further. Use
//! [`ParseError::is_corrupt`] to tell damage from "cannot look inside".
//!
//! Submodules: [`address`] (address rendering), [`header`] (reading serial
//! and lineage from a prefix), [`health`] (assessing a version history),
//! [`sensitive`] (what counts as a secret), [`fingerprint`] (content digests).

pub mod address;
pub mod fingerprint;
pub mod header;
pub mod health;
pub mod sensitive;
mod wire;

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::Serialize;
use serde_json::value::RawValue;

pub use address::{InstanceKey, Mode};
use sensitive::{AttrPath, PathStep};
use wire::{CowStr, OrderedMap, RawInstance, RawOutput, RawResource};

/// The only state format version this module reads.
pub const SUPPORTED_VERSION: u64 = 4;

/// Why bytes could not be read as a v4 state.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The object is empty (zero bytes or only whitespace).
    #[error("the object is empty")]
    Empty,
    /// The bytes are not JSON (syntax error, invalid UTF-8, trailing garbage).
    #[error("not valid JSON: {message}")]
    NotJson {
        /// What serde_json (or the UTF-8 check) reported.
        message: String,
    },
    /// The bytes are the beginning of a JSON document that ends too early.
    #[error("truncated JSON: {message}")]
    Truncated {
        /// What serde_json (or the UTF-8 check) reported.
        message: String,
    },
    /// The document is a state of another format version.
    #[error("unsupported state format version {found} (only version 4 is supported)")]
    UnsupportedVersion {
        /// The `version` found in the document.
        found: u64,
    },
    /// A field the format requires is absent (or `null`).
    #[error("required field `{field}` is missing")]
    MissingField {
        /// Path of the field, e.g. `lineage` or `resources[3].type`.
        field: String,
    },
    /// Valid JSON, but a field has the wrong shape or an unknown value.
    #[error("invalid state: {message}")]
    Invalid {
        /// What is wrong and where.
        message: String,
    },
    /// The object is a state wrapped in `aws-chunked` framing (a hex length
    /// line, the JSON, `0`, then an `x-amz-checksum-*` trailer), as some
    /// S3-compatible stores saved it (hashicorp/terraform#34054).
    #[error("the object holds a state wrapped in aws-chunked upload framing (a chunk-length line before the JSON and an x-amz-checksum trailer after it), as some S3-compatible stores save it (hashicorp/terraform#34054); Terraform cannot read it either: restore an earlier version, or set skip_s3_checksum = true for that store")]
    AwsChunked,
    /// An OpenTofu encrypted state. Not an error of the object itself: it is
    /// simply not readable without the key. Never parsed further.
    #[error("the state is encrypted (OpenTofu state encryption)")]
    Encrypted {
        /// The plaintext `serial`, when present.
        serial: Option<u64>,
        /// The plaintext `lineage`, when present.
        lineage: Option<String>,
    },
}

impl ParseError {
    /// `true` for every error that means the object is damaged or not a v4
    /// state; `false` only for [`ParseError::Encrypted`].
    pub fn is_corrupt(&self) -> bool {
        !matches!(self, ParseError::Encrypted { .. })
    }

    fn invalid(message: impl Into<String>) -> Self {
        ParseError::Invalid {
            message: message.into(),
        }
    }

    fn missing(field: impl Into<String>) -> Self {
        ParseError::MissingField {
            field: field.into(),
        }
    }

    fn from_json(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let message = e.to_string();
        match e.classify() {
            Category::Eof => ParseError::Truncated { message },
            Category::Syntax | Category::Io => ParseError::NotJson { message },
            Category::Data => ParseError::Invalid { message },
        }
    }

    /// Like [`ParseError::from_json`], but a syntax error located at the
    /// very end of `text` (a number cut short: `1.`, `1e`, `-`) is a
    /// truncation too.
    fn from_json_in(e: serde_json::Error, text: &str) -> Self {
        if e.classify() == serde_json::error::Category::Syntax && error_at_end(&e, text) {
            return ParseError::Truncated {
                message: e.to_string(),
            };
        }
        Self::from_json(e)
    }
}

/// `each` of a resource: how its instances are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Each {
    /// `count`: integer keys.
    List,
    /// `for_each`: string keys.
    Map,
}

/// A parsed v4 state borrowing from the input bytes.
#[derive(Debug)]
pub struct State<'a> {
    /// Always [`SUPPORTED_VERSION`].
    pub version: u64,
    /// `terraform_version` (e.g. `1.9.5`).
    pub terraform_version: Cow<'a, str>,
    /// `serial`.
    pub serial: u64,
    /// `lineage`.
    pub lineage: Cow<'a, str>,
    /// `outputs`, in file order.
    pub outputs: Vec<Output<'a>>,
    /// `resources`, in file order.
    pub resources: Vec<Resource<'a>>,
    /// `check_results` (Terraform 1.3+) verbatim; `None` when absent or null.
    pub check_results: Option<&'a RawValue>,
    /// Top-level keys the JSON repeats. Go's decoder (Terraform's) keeps the
    /// last value of each, and so does this parser.
    pub duplicate_keys: Vec<String>,
    serial_span: Range<usize>,
}

/// A root module output value.
#[derive(Debug)]
pub struct Output<'a> {
    /// The output's name.
    pub name: Cow<'a, str>,
    /// `value` verbatim (`None` when absent or null).
    pub value: Option<&'a RawValue>,
    /// `type` (a cty type in JSON) verbatim.
    pub type_: Option<&'a RawValue>,
    /// `sensitive` (absent means `false`).
    pub sensitive: bool,
}

/// A resource (one `resource`/`data` block in one module instance).
#[derive(Debug)]
pub struct Resource<'a> {
    /// Module instance address (`module.a.module.b["x"]`), `None` at root.
    pub module: Option<Cow<'a, str>>,
    /// Managed resource or data source.
    pub mode: Mode,
    /// Resource type (`aws_instance`).
    pub type_: Cow<'a, str>,
    /// Resource name (`web`).
    pub name: Cow<'a, str>,
    /// `each`, when the resource uses `count` or `for_each`.
    pub each: Option<Each>,
    /// Provider configuration address
    /// (`provider["registry.terraform.io/hashicorp/aws"]`).
    pub provider: Cow<'a, str>,
    /// Instance objects: current objects and deposed ones (which share the
    /// `index_key` of their instance and carry `deposed`).
    pub instances: Vec<Instance<'a>>,
}

/// One instance object (current or deposed) of a resource.
#[derive(Debug)]
pub struct Instance<'a> {
    /// `index_key`, `None` for a resource without `count`/`for_each`.
    pub index_key: Option<InstanceKey>,
    /// `status` (only ever `tainted`).
    pub status: Option<Cow<'a, str>>,
    /// Deposed key (`00000001`) when this is a deposed object.
    pub deposed: Option<Cow<'a, str>>,
    /// `schema_version` (absent means 0).
    pub schema_version: u64,
    /// `attributes` verbatim (JSON object), `None` when absent or null.
    pub attributes: Option<&'a RawValue>,
    /// Legacy `attributes_flat` (flatmap), in file order.
    pub attributes_flat: Option<Vec<(Cow<'a, str>, Cow<'a, str>)>>,
    /// `sensitive_attributes`: paths whose values are sensitive.
    pub sensitive_attributes: Vec<AttrPath>,
    /// `private` (base64 provider-private data).
    pub private: Option<Cow<'a, str>>,
    /// `dependencies` (resource addresses).
    pub dependencies: Vec<Cow<'a, str>>,
    /// `create_before_destroy` (absent means false).
    pub create_before_destroy: bool,
    /// `identity_schema_version` (Terraform 1.12+).
    pub identity_schema_version: Option<u64>,
    /// `identity` (Terraform 1.12+) verbatim.
    pub identity: Option<&'a RawValue>,
}

impl Instance<'_> {
    /// Whether the object is tainted (`"status": "tainted"`).
    pub fn is_tainted(&self) -> bool {
        self.status.as_deref() == Some("tainted")
    }
}

impl Resource<'_> {
    /// The resource address (`module.a.aws_instance.web`).
    pub fn address(&self) -> String {
        address::resource_address(self.module.as_deref(), self.mode, &self.type_, &self.name)
    }

    /// The distinct instance keys of this resource, in file order (an
    /// instance with a current and a deposed object is listed once).
    pub fn instance_keys(&self) -> Vec<Option<&InstanceKey>> {
        let mut seen = HashSet::with_capacity(self.instances.len());
        self.instances
            .iter()
            .map(|i| i.index_key.as_ref())
            .filter(|k| seen.insert(*k))
            .collect()
    }
}

impl<'a> State<'a> {
    /// What `terraform state list` prints: one address per distinct resource
    /// instance (managed and data; an instance's deposed objects are not
    /// listed separately). Order is file order, which for states written by
    /// Terraform is already Terraform's sorted order.
    pub fn addresses(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.resources {
            let ra = r.address();
            for k in r.instance_keys() {
                out.push(address::instance_address(&ra, k));
            }
        }
        out
    }

    /// Number of distinct resource instances (the length of
    /// [`State::addresses`]).
    pub fn resource_count(&self) -> usize {
        self.resources.iter().map(|r| r.instance_keys().len()).sum()
    }

    /// Names of the root module outputs, in file order.
    pub fn output_names(&self) -> Vec<&str> {
        self.outputs.iter().map(|o| o.name.as_ref()).collect()
    }

    /// Byte range of the top-level `serial` number token in the input.
    pub fn serial_span(&self) -> Range<usize> {
        self.serial_span.clone()
    }

    /// A summary suitable for `stateward show --json`.
    pub fn show(&self) -> Show {
        Show {
            serial: self.serial,
            lineage: self.lineage.to_string(),
            terraform_version: self.terraform_version.to_string(),
            resources: self
                .resources
                .iter()
                .map(|r| ShowResource {
                    address: r.address(),
                    type_: r.type_.to_string(),
                    mode: r.mode.as_str().to_owned(),
                    provider: r.provider.to_string(),
                    instances: r.instance_keys().len(),
                })
                .collect(),
            outputs: self.outputs.iter().map(|o| o.name.to_string()).collect(),
        }
    }
}

/// Summary of a state, serialised as
/// `{"serial","lineage","terraform_version","resources":[..],"outputs":[names]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Show {
    /// `serial`.
    pub serial: u64,
    /// `lineage`.
    pub lineage: String,
    /// `terraform_version`.
    pub terraform_version: String,
    /// One entry per resource (not per instance).
    pub resources: Vec<ShowResource>,
    /// Output names.
    pub outputs: Vec<String>,
}

/// One resource in [`Show`]:
/// `{"address","type","mode","provider","instances"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ShowResource {
    /// Resource address (no instance key).
    pub address: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub type_: String,
    /// `managed` or `data`.
    #[schemars(extend("enum" = ["managed", "data"]))]
    pub mode: String,
    /// Provider configuration address.
    pub provider: String,
    /// Number of distinct instances (deposed objects are not counted).
    pub instances: usize,
}

/// Parses a v4 state. See the module documentation.
pub fn parse(bytes: &[u8]) -> Result<State<'_>, ParseError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let message = format!("invalid UTF-8 at byte {}", e.valid_up_to());
            return Err(if e.error_len().is_none() {
                ParseError::Truncated { message }
            } else {
                ParseError::NotJson { message }
            });
        }
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let top = de::Deserializer::deserialize_map(&mut de, TopVisitor)
        .and_then(|t| de.end().map(|()| t))
        .map_err(|e| {
            if is_aws_chunked(text) {
                ParseError::AwsChunked
            } else {
                ParseError::from_json_in(e, text)
            }
        })?;
    build(text, top)
}

/// Whether `text` is `aws-chunked` framing around a JSON document: a hex
/// chunk length (optionally `;chunk-signature=...`) on the first line, then
/// the JSON. Pure.
pub fn is_aws_chunked(text: &str) -> bool {
    let Some((first, rest)) = text.split_once('\n') else {
        return false;
    };
    let size = first.trim_end_matches('\r');
    let size = size.split(';').next().unwrap_or_default();
    !size.is_empty()
        && size.len() <= 16
        && size.bytes().all(|b| b.is_ascii_hexdigit())
        && rest.trim_start().starts_with('{')
}

/// Whether a serde_json error position (1-based line, byte column) is the
/// last byte of `text` and that byte can only be part of a number cut short.
fn error_at_end(e: &serde_json::Error, text: &str) -> bool {
    let trimmed = text.as_bytes();
    let last_line_start = trimmed
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let lines = trimmed.iter().filter(|&&b| b == b'\n').count() + 1;
    e.line() == lines
        && e.column() >= trimmed.len() - last_line_start
        && trimmed
            .last()
            .is_some_and(|b| b.is_ascii_digit() || b".eE+-".contains(b))
}

/// Parses two states on two threads (one each) and returns both results.
pub fn parse_pair<'a, 'b>(
    a: &'a [u8],
    b: &'b [u8],
) -> (Result<State<'a>, ParseError>, Result<State<'b>, ParseError>) {
    std::thread::scope(|s| {
        let hb = s.spawn(|| parse(b));
        let ra = parse(a);
        let rb = hb.join().unwrap_or_else(|_| {
            Err(ParseError::invalid(
                "internal error: parser thread panicked",
            ))
        });
        (ra, rb)
    })
}

/// Returns `bytes` with only the top-level `serial` number token replaced by
/// `new_serial`; every other byte is unchanged. The input must be a valid v4
/// state, or an OpenTofu encrypted state with a plain `serial` (whose
/// encrypted contents keep their own).
pub fn set_serial(bytes: &[u8], new_serial: u64) -> Result<Vec<u8>, ParseError> {
    let span = match parse(bytes) {
        Ok(state) => state.serial_span(),
        Err(ParseError::Encrypted {
            serial: Some(_), ..
        }) => encrypted_serial_span(bytes)?,
        Err(e) => return Err(e),
    };
    let digits = new_serial.to_string();
    let mut out = Vec::with_capacity(bytes.len() + digits.len());
    out.extend_from_slice(&bytes[..span.start]);
    out.extend_from_slice(digits.as_bytes());
    out.extend_from_slice(&bytes[span.end..]);
    Ok(out)
}

/// The span of the plain top-level `serial` of an OpenTofu encrypted state.
fn encrypted_serial_span(bytes: &[u8]) -> Result<Range<usize>, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError::NotJson {
        message: e.to_string(),
    })?;
    let mut de = serde_json::Deserializer::from_str(text);
    let top = de::Deserializer::deserialize_map(&mut de, TopVisitor)
        .map_err(|e| ParseError::from_json_in(e, text))?;
    let raw = top
        .serial
        .filter(|r| raw_u64(r).is_some())
        .ok_or_else(|| ParseError::missing("serial"))?;
    let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
    Ok(start..start + raw.get().len())
}

// ---------------------------------------------------------------------------
// Parsing internals.

enum Slot<'a, T> {
    Parsed(T),
    Raw(&'a RawValue),
}

#[derive(Default)]
struct Top<'a> {
    version: Option<&'a RawValue>,
    terraform_version: Option<CowStr<'a>>,
    serial: Option<&'a RawValue>,
    lineage: Option<CowStr<'a>>,
    outputs: Option<Slot<'a, Option<OrderedMap<CowStr<'a>, RawOutput<'a>>>>>,
    resources: Option<Slot<'a, Option<Vec<RawResource<'a>>>>>,
    check_results: Option<&'a RawValue>,
    encrypted: bool,
    duplicates: Vec<String>,
}

struct TopVisitor;

fn raw_u64(raw: &RawValue) -> Option<u64> {
    raw.get().parse::<u64>().ok()
}

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (Terraform state)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let mut top = Top::default();
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            let key = key.0;
            // Go's decoder keeps the last of repeated keys: so do we, and say so.
            if !seen.insert(key.to_string()) && !top.duplicates.iter().any(|d| *d == key) {
                top.duplicates.push(key.to_string());
            }
            let v4 = top.version.and_then(raw_u64) == Some(SUPPORTED_VERSION);
            match key.as_ref() {
                "version" => top.version = Some(map.next_value()?),
                "terraform_version" => top.terraform_version = map.next_value()?,
                "serial" => top.serial = Some(map.next_value()?),
                "lineage" => top.lineage = map.next_value()?,
                "outputs" if v4 => top.outputs = Some(Slot::Parsed(map.next_value()?)),
                "outputs" => top.outputs = Some(Slot::Raw(map.next_value()?)),
                "resources" if v4 => top.resources = Some(Slot::Parsed(map.next_value()?)),
                "resources" => top.resources = Some(Slot::Raw(map.next_value()?)),
                "check_results" => top.check_results = map.next_value()?,
                "encrypted_data" | "encryption_version" => {
                    top.encrypted = true;
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

fn from_raw<'a, T: serde::Deserialize<'a>>(raw: &'a RawValue) -> Result<T, ParseError> {
    serde_json::from_str(raw.get()).map_err(ParseError::from_json)
}

fn build<'a>(text: &'a str, top: Top<'a>) -> Result<State<'a>, ParseError> {
    if top.encrypted {
        return Err(ParseError::Encrypted {
            serial: top.serial.and_then(raw_u64),
            lineage: top.lineage.map(|l| l.0.into_owned()),
        });
    }
    let version_raw = top.version.ok_or_else(|| ParseError::missing("version"))?;
    let version = raw_u64(version_raw).ok_or_else(|| {
        ParseError::invalid(format!(
            "`version` must be a non-negative integer, found {}",
            version_raw.get()
        ))
    })?;
    if version != SUPPORTED_VERSION {
        return Err(ParseError::UnsupportedVersion { found: version });
    }
    // Terraform reads a state without `terraform_version` (hand-written or
    // from other tools): not required.
    let terraform_version = top
        .terraform_version
        .map(|v| v.0)
        .unwrap_or(Cow::Borrowed(""));
    let serial_raw = top
        .serial
        .filter(|r| r.get() != "null")
        .ok_or_else(|| ParseError::missing("serial"))?;
    let serial = raw_u64(serial_raw).ok_or_else(|| {
        ParseError::invalid(format!(
            "`serial` must be a non-negative integer, found {}",
            serial_raw.get()
        ))
    })?;
    let start = serial_raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let serial_span = start..start + serial_raw.get().len();
    let lineage = top.lineage.ok_or_else(|| ParseError::missing("lineage"))?.0;

    let outputs = match top.outputs {
        None => None,
        Some(Slot::Parsed(o)) => o,
        Some(Slot::Raw(raw)) => from_raw(raw)?,
    };
    let outputs = outputs
        .map(|m| m.0)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, o)| Output {
            name: name.0,
            value: o.value,
            type_: o.type_,
            sensitive: o.sensitive.unwrap_or(false),
        })
        .collect();

    let resources = match top.resources {
        None => None,
        Some(Slot::Parsed(r)) => r,
        Some(Slot::Raw(raw)) => from_raw(raw)?,
    };
    let resources = resources
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, r)| build_resource(i, r))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(State {
        version,
        terraform_version,
        serial,
        lineage,
        outputs,
        resources,
        check_results: top.check_results.filter(|r| r.get() != "null"),
        duplicate_keys: top.duplicates,
        serial_span,
    })
}

fn need<'a>(v: Option<CowStr<'a>>, i: usize, f: &str) -> Result<Cow<'a, str>, ParseError> {
    v.map(|s| s.0)
        .ok_or_else(|| ParseError::missing(format!("resources[{i}].{f}")))
}

fn build_resource(i: usize, r: RawResource<'_>) -> Result<Resource<'_>, ParseError> {
    let mode = match need(r.mode, i, "mode")?.as_ref() {
        "managed" => Mode::Managed,
        "data" => Mode::Data,
        other => {
            return Err(ParseError::invalid(format!(
                "resources[{i}].mode: unknown mode {other:?}"
            )))
        }
    };
    let each = match r.each.as_ref().map(|e| e.0.as_ref()) {
        None | Some("") => None,
        Some("list") => Some(Each::List),
        Some("map") => Some(Each::Map),
        Some(other) => {
            return Err(ParseError::invalid(format!(
                "resources[{i}].each: unknown value {other:?}"
            )))
        }
    };
    let type_ = need(r.type_, i, "type")?;
    let name = need(r.name, i, "name")?;
    // OpenTofu 1.9+ may leave `resources[].provider` out and name the
    // provider per instance: take the first instance's.
    let instance_provider = r
        .instances
        .as_ref()
        .and_then(|is| is.iter().find_map(|inst| inst.provider.as_ref()))
        .map(|p| p.0.clone());
    let provider = r
        .provider
        .map(|p| p.0)
        .or(instance_provider)
        .unwrap_or(Cow::Borrowed(""));
    let instances = r
        .instances
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(j, inst)| build_instance(i, j, inst))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Resource {
        module: r.module.map(|m| m.0).filter(|m| !m.is_empty()),
        mode,
        type_,
        name,
        each,
        provider,
        instances,
    })
}

fn build_instance(i: usize, j: usize, r: RawInstance<'_>) -> Result<Instance<'_>, ParseError> {
    let at = || format!("resources[{i}].instances[{j}]");
    let index_key = match r.index_key {
        None => None,
        Some(raw) => Some(parse_key(raw.get()).ok_or_else(|| {
            ParseError::invalid(format!(
                "{}.index_key must be an integer or a string, found {}",
                at(),
                raw.get()
            ))
        })?),
    };
    let sensitive_attributes = r
        .sensitive_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|path| {
            path.into_iter()
                .map(|step| parse_step(&step.type_.0, step.value))
                .collect::<Option<AttrPath>>()
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            ParseError::invalid(format!("{}.sensitive_attributes is malformed", at()))
        })?;
    Ok(Instance {
        index_key,
        status: r.status.map(|s| s.0).filter(|s| !s.is_empty()),
        deposed: r.deposed.map(|s| s.0).filter(|s| !s.is_empty()),
        schema_version: r.schema_version.unwrap_or(0),
        attributes: r.attributes,
        attributes_flat: r
            .attributes_flat
            .map(|m| m.0.into_iter().map(|(k, v)| (k.0, v.0)).collect()),
        sensitive_attributes,
        private: r.private.map(|s| s.0),
        dependencies: r
            .dependencies
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.0)
            .collect(),
        create_before_destroy: r.create_before_destroy.unwrap_or(false),
        identity_schema_version: r.identity_schema_version,
        identity: r.identity.filter(|r| r.get() != "null"),
    })
}

/// Interprets a raw `index_key`: a JSON integer or a JSON string.
fn parse_key(raw: &str) -> Option<InstanceKey> {
    if raw.starts_with('"') {
        serde_json::from_str::<String>(raw)
            .ok()
            .map(InstanceKey::Str)
    } else {
        raw.parse::<i64>().ok().map(InstanceKey::Int)
    }
}

/// Interprets one `sensitive_attributes` step.
fn parse_step(type_: &str, value: &RawValue) -> Option<PathStep> {
    let v: serde_json::Value = serde_json::from_str(value.get()).ok()?;
    // An index step's value is cty-typed JSON `{"value": .., "type": ..}`;
    // a bare value is accepted too.
    let v = match v {
        serde_json::Value::Object(mut m) if m.contains_key("value") && m.contains_key("type") => {
            m.remove("value")?
        }
        other => other,
    };
    match (type_, v) {
        ("get_attr", serde_json::Value::String(s)) => Some(PathStep::Key(s)),
        ("index", serde_json::Value::String(s)) => Some(PathStep::Key(s)),
        ("index", serde_json::Value::Number(n)) => {
            n.to_string().parse::<u64>().ok().map(PathStep::Index)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
