//! Private serde helpers and the raw (wire-shaped, everything optional)
//! structures the v4 parser deserializes into before validation.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A string that borrows from the input when it has no escapes.
///
/// `Cow<str>`'s own `Deserialize` impl always allocates, hence this newtype.
#[derive(Debug)]
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(PhantomData))
    }
}

/// A JSON object deserialized into a `Vec` of pairs, keeping file order.
#[derive(Debug)]
pub(crate) struct OrderedMap<K, V>(pub(crate) Vec<(K, V)>);

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Vis<K, V> {
            type Value = OrderedMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

/// An output as written on the wire.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RawOutput<'a> {
    #[serde(borrow, default)]
    pub(crate) value: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "type")]
    pub(crate) type_: Option<&'a RawValue>,
    #[serde(default)]
    pub(crate) sensitive: Option<bool>,
}

/// A resource as written on the wire.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RawResource<'a> {
    #[serde(borrow, default)]
    pub(crate) module: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub(crate) mode: Option<CowStr<'a>>,
    #[serde(borrow, default, rename = "type")]
    pub(crate) type_: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub(crate) name: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub(crate) each: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub(crate) provider: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub(crate) instances: Option<Vec<RawInstance<'a>>>,
}

/// One step of a `sensitive_attributes` path as written on the wire.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RawStep<'a> {
    #[serde(borrow, rename = "type")]
    pub(crate) type_: CowStr<'a>,
    #[serde(borrow)]
    pub(crate) value: &'a RawValue,
}

/// A resource instance object as written on the wire.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RawInstance<'a> {
    #[serde(borrow, default)]
    pub(crate) index_key: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) status: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub(crate) deposed: Option<CowStr<'a>>,
    #[serde(default)]
    pub(crate) schema_version: Option<u64>,
    #[serde(borrow, default)]
    pub(crate) attributes: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) attributes_flat: Option<OrderedMap<CowStr<'a>, CowStr<'a>>>,
    #[serde(borrow, default)]
    pub(crate) sensitive_attributes: Option<Vec<Vec<RawStep<'a>>>>,
    #[serde(borrow, default)]
    pub(crate) private: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub(crate) dependencies: Option<Vec<CowStr<'a>>>,
    #[serde(default)]
    pub(crate) create_before_destroy: Option<bool>,
    #[serde(default)]
    pub(crate) identity_schema_version: Option<u64>,
    #[serde(borrow, default)]
    pub(crate) identity: Option<&'a RawValue>,
    /// OpenTofu 1.9+: the instance's provider, when the resource has none.
    #[serde(borrow, default)]
    pub(crate) provider: Option<CowStr<'a>>,
}
