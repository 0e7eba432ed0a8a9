//! A collection schema, loaded from pymilvus's `CollectionSchema.to_dict()` JSON or from
//! Milvus's REST v2 `collections/describe` answer, and checked before any row is read.

use serde_json::{Map, Value};

use crate::error::SchemaError;
use crate::field::{DefaultValue, FieldSchema, StructFieldSchema};
use crate::types::DataType;

/// The name of the dynamic field that holds keys the schema does not define.
pub const DYNAMIC_FIELD: &str = "$meta";

/// A Milvus collection schema.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionSchema {
    /// Fields in declaration order.
    pub fields: Vec<FieldSchema>,
    /// Array-of-struct fields, which pymilvus keeps apart and writes after `fields`.
    pub struct_fields: Vec<StructFieldSchema>,
    /// Whether keys outside the schema are kept in the `$meta` JSON column.
    pub enable_dynamic_field: bool,
}

impl CollectionSchema {
    /// Builds and checks a schema from its parts.
    pub fn new(
        fields: Vec<FieldSchema>,
        struct_fields: Vec<StructFieldSchema>,
        enable_dynamic_field: bool,
    ) -> Result<Self, SchemaError> {
        let schema = CollectionSchema {
            fields,
            struct_fields,
            enable_dynamic_field,
        };
        schema.check()?;
        Ok(schema)
    }

    /// Parses a schema from JSON text.
    ///
    /// Accepted shapes: pymilvus `CollectionSchema.to_dict()` (`"type": "FLOAT_VECTOR"`,
    /// `"params": {"dim": 768}`, `"is_primary"`), and Milvus REST v2 describe output, with or
    /// without its `{"code": 0, "data": {...}}` envelope (`"type": "FloatVector"`,
    /// `"params": [{"key": "dim", "value": "768"}]`, `"primaryKey"`).
    pub fn from_json_str(text: &str) -> Result<Self, SchemaError> {
        let value: Value = serde_json::from_str(text)?;
        Self::from_json_value(&value)
    }

    /// Parses a schema from a JSON value; see [`CollectionSchema::from_json_str`].
    pub fn from_json_value(value: &Value) -> Result<Self, SchemaError> {
        let mut root = value
            .as_object()
            .ok_or_else(|| SchemaError::Shape("expected a JSON object".into()))?;
        // The REST answer wraps the schema: {"code": 0, "data": {...}}.
        if !root.contains_key("fields")
            && let Some(data) = root.get("data").and_then(Value::as_object)
        {
            root = data;
        }
        let fields_json = root
            .get("fields")
            .and_then(Value::as_array)
            .ok_or_else(|| SchemaError::Shape("expected a \"fields\" list".into()))?;

        let mut fields = fields_json
            .iter()
            .enumerate()
            .map(|(i, f)| parse_field(f, &format!("#{}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;

        // Functions name their output fields; mark them even if the field entry does not.
        for function in array_attr(root, &["functions"]) {
            for out in array_attr_of(function, &["output_field_names", "outputFieldNames"]) {
                if let Some(name) = out.as_str()
                    && let Some(field) = fields.iter_mut().find(|f| f.name == name)
                {
                    field.is_function_output = true;
                }
            }
        }

        let struct_fields = array_attr(root, &["struct_fields", "structArrayFields"])
            .iter()
            .enumerate()
            .map(|(i, s)| parse_struct_field(s, &format!("struct #{}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;

        let enable_dynamic_field =
            bool_attr(root, &["enable_dynamic_field", "enableDynamicField"]).unwrap_or(false);
        Self::new(fields, struct_fields, enable_dynamic_field)
    }

    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Names of the columns a file holds, in pymilvus's order: written `fields` in
    /// declaration order, then struct fields, then `$meta` when the dynamic field is on.
    pub fn column_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.is_written())
            .map(|f| f.name.as_str())
            .collect();
        names.extend(self.struct_fields.iter().map(|s| s.name.as_str()));
        if self.enable_dynamic_field {
            names.push(DYNAMIC_FIELD);
        }
        names
    }

    fn check(&self) -> Result<(), SchemaError> {
        for st in &self.struct_fields {
            for sub in &st.fields {
                check_name(&sub.name).map_err(|_| {
                    SchemaError::field(format!("{}.{}", st.name, sub.name), name_rule(&sub.name))
                })?;
            }
        }
        if self.fields.is_empty() {
            return Err(SchemaError::Collection(
                "collection schema fields list is empty".into(),
            ));
        }
        let primaries: Vec<&FieldSchema> = self.fields.iter().filter(|f| f.is_primary).collect();
        match primaries.as_slice() {
            [] => {
                return Err(SchemaError::Collection(
                    "no primary key field: set \"is_primary\": true on one INT64 or VARCHAR field"
                        .into(),
                ));
            }
            [pk] => {
                if !matches!(pk.data_type, DataType::Int64 | DataType::VarChar) {
                    return Err(SchemaError::field(
                        &pk.name,
                        format!(
                            "the primary key must be INT64 or VARCHAR, not {}",
                            pk.data_type
                        ),
                    ));
                }
                if pk.nullable {
                    return Err(SchemaError::field(
                        &pk.name,
                        "the primary key cannot be nullable",
                    ));
                }
            }
            [_, second, ..] => {
                return Err(SchemaError::field(
                    &second.name,
                    "a second primary key: a collection has exactly one",
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        let names = self
            .fields
            .iter()
            .map(|f| &f.name)
            .chain(self.struct_fields.iter().map(|s| &s.name));
        for name in names {
            if name == DYNAMIC_FIELD {
                return Err(SchemaError::field(
                    name,
                    "'$meta' is reserved for the dynamic field; set enable_dynamic_field instead",
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(SchemaError::field(name, "the name is used by two fields"));
            }
            check_name(name)?;
        }
        for field in &self.fields {
            if field.auto_id && !field.is_primary {
                return Err(SchemaError::field(
                    &field.name,
                    "auto_id is only allowed on the primary key",
                ));
            }
            check_field(field)?;
        }
        for st in &self.struct_fields {
            for sub in &st.fields {
                check_field(sub).map_err(|e| match e {
                    SchemaError::Field { field, problem } => {
                        SchemaError::field(format!("{}.{}", st.name, field), problem)
                    }
                    other => other,
                })?;
                if !(sub.data_type.is_dense_vector()
                    || sub.data_type.is_array_element()
                    || sub.data_type.is_string())
                    || matches!(sub.data_type, DataType::BinaryVector)
                {
                    return Err(SchemaError::field(
                        format!("{}.{}", st.name, sub.name),
                        format!("{} is not allowed inside a struct", sub.data_type),
                    ));
                }
            }
        }
        if self.column_names().is_empty() {
            return Err(SchemaError::Collection(
                "Illegal collection schema: fields list is empty (every field is auto-id or a function output)"
                    .into(),
            ));
        }
        Ok(())
    }
}

fn check_field(field: &FieldSchema) -> Result<(), SchemaError> {
    let err = |problem: String| Err(SchemaError::field(&field.name, problem));
    if field.name.is_empty() {
        return err("the field name is empty".into());
    }
    let ty = field.data_type;
    if ty.is_dense_vector() {
        match field.dim {
            None | Some(0) => return err(format!("{ty} needs a positive \"dim\" parameter")),
            Some(d) if ty == DataType::BinaryVector && d % 8 != 0 => {
                return err(format!(
                    "BINARY_VECTOR dim must be a multiple of 8, got {d}"
                ));
            }
            _ => {}
        }
    }
    if ty == DataType::VarChar && field.max_length.is_none() {
        return err("VARCHAR needs a \"max_length\" parameter".into());
    }
    if ty == DataType::Array {
        let Some(element) = field.element_type else {
            return err("ARRAY needs an \"element_type\"".into());
        };
        if !element.is_array_element() {
            return err(format!("ARRAY element_type {element} is not supported"));
        }
        if element == DataType::VarChar && field.max_length.is_none() {
            return err("ARRAY of VARCHAR needs a \"max_length\" parameter".into());
        }
        if field.max_capacity.is_none_or(|c| c == 0) {
            return err("ARRAY needs a positive \"max_capacity\" parameter".into());
        }
    }
    if ty == DataType::Struct {
        return err("STRUCT is only allowed as the element of a struct_fields entry".into());
    }
    if let Some(default) = &field.default_value {
        if !ty.allows_default() {
            return err(no_default(ty, &field.name));
        }
        let fits = match (ty, default) {
            (DataType::Bool, DefaultValue::Bool(_)) => true,
            (DataType::Int8, DefaultValue::Int(v)) => i8::try_from(*v).is_ok(),
            (DataType::Int16, DefaultValue::Int(v)) => i16::try_from(*v).is_ok(),
            (DataType::Int32, DefaultValue::Int(v)) => i32::try_from(*v).is_ok(),
            (DataType::Int64, DefaultValue::Int(_)) => true,
            (DataType::Float, DefaultValue::Float(_)) => true,
            (DataType::Double, DefaultValue::Double(_)) => true,
            (DataType::VarChar, DefaultValue::String(s)) => {
                s.len() <= field.max_length.unwrap_or(usize::MAX)
            }
            // Written as given, as pymilvus writes them; the server parses the ISO time or
            // WKT when the collection is created.
            (DataType::Timestamptz | DataType::Geometry, DefaultValue::String(_)) => true,
            _ => false,
        };
        if !fits {
            return err(format!(
                "default_value {default:?} does not fit a {ty} field"
            ));
        }
    }
    Ok(())
}

fn parse_field(value: &Value, position: &str) -> Result<FieldSchema, SchemaError> {
    let obj = value
        .as_object()
        .ok_or_else(|| SchemaError::field(position, "a field must be a JSON object"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| SchemaError::field(position, "the field has no \"name\""))?
        .to_string();
    let err = |problem: String| SchemaError::field(&name, problem);

    let type_value = obj
        .get("type")
        .or_else(|| obj.get("data_type"))
        .or_else(|| obj.get("dataType"))
        .ok_or_else(|| err("the field has no \"type\"".into()))?;
    let data_type = parse_type(type_value).map_err(err)?;
    let mut field = FieldSchema::new(name.clone(), data_type);

    let params = params_of(obj).map_err(err)?;
    field.dim = usize_param(&params, obj, "dim").map_err(err)?;
    field.max_length = usize_param(&params, obj, "max_length").map_err(err)?;
    field.max_capacity = usize_param(&params, obj, "max_capacity").map_err(err)?;
    if let Some(element) = obj.get("element_type").or_else(|| obj.get("elementType")) {
        field.element_type = Some(parse_type(element).map_err(err)?);
    }
    field.is_primary =
        bool_attr(obj, &["is_primary", "primaryKey", "is_primary_key"]).unwrap_or(false);
    field.auto_id = bool_attr(obj, &["auto_id", "autoId", "autoID"]).unwrap_or(false);
    field.is_partition_key = bool_attr(obj, &["is_partition_key", "partitionKey"]).unwrap_or(false);
    field.is_function_output =
        bool_attr(obj, &["is_function_output", "isFunctionOutput"]).unwrap_or(false);
    field.nullable = bool_attr(obj, &["nullable"]).unwrap_or(false);
    if let Some(default) = obj.get("default_value").or_else(|| obj.get("defaultValue"))
        && !default.is_null()
    {
        field.default_value = Some(parse_default(default, data_type, &field.name).map_err(err)?);
    }
    Ok(field)
}

fn parse_struct_field(value: &Value, position: &str) -> Result<StructFieldSchema, SchemaError> {
    let obj = value
        .as_object()
        .ok_or_else(|| SchemaError::field(position, "a struct field must be a JSON object"))?;
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| SchemaError::field(position, "the struct field has no \"name\""))?
        .to_string();
    let params = params_of(obj).map_err(|p| SchemaError::field(&name, p))?;
    let max_capacity = usize_param(&params, obj, "max_capacity")
        .map_err(|p| SchemaError::field(&name, p))?
        .filter(|c| *c > 0)
        .ok_or_else(|| {
            SchemaError::field(&name, "a struct field needs a positive \"max_capacity\"")
        })?;
    let fields = obj
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| SchemaError::field(&name, "a struct field needs a \"fields\" list"))?
        .iter()
        .enumerate()
        .map(|(i, f)| parse_field(f, &format!("{name}.#{}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    if fields.is_empty() {
        return Err(SchemaError::field(
            &name,
            "a struct field needs at least one sub-field",
        ));
    }
    Ok(StructFieldSchema {
        name,
        fields,
        max_capacity,
    })
}

fn parse_type(value: &Value) -> Result<DataType, String> {
    match value {
        Value::String(s) => DataType::from_name(s).ok_or_else(|| format!("unknown type \"{s}\"")),
        // pymilvus's DataType is an IntEnum: json.dumps(schema.to_dict()) writes its code.
        Value::Number(n) => n.as_i64().and_then(DataType::from_code).ok_or_else(|| {
            format!(
                "type {n} is not a Milvus type code (BOOL is 1, INT64 5, FLOAT_VECTOR 101, ...)"
            )
        }),
        other => Err(format!(
            "type {other} is not a type name; write it as a name such as \"INT64\" or \"FLOAT_VECTOR\""
        )),
    }
}

/// Field parameters, from pymilvus's `"params": {...}` or REST's `[{"key", "value"}]` list.
fn params_of(obj: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    match obj.get("params").or_else(|| obj.get("type_params")) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let key = item.get("key").and_then(Value::as_str);
                let value = item.get("value");
                match (key, value) {
                    (Some(k), Some(v)) => Ok((k.to_string(), v.clone())),
                    _ => Err(format!("params entry {item} is not {{\"key\", \"value\"}}")),
                }
            })
            .collect(),
        Some(other) => Err(format!(
            "\"params\" must be an object or a list, got {other}"
        )),
    }
}

/// A numeric parameter given as a number or a numeric string, in `params` or on the field.
fn usize_param(
    params: &Map<String, Value>,
    obj: &Map<String, Value>,
    key: &str,
) -> Result<Option<usize>, String> {
    let Some(value) = params.get(key).or_else(|| obj.get(key)) else {
        return Ok(None);
    };
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    parsed
        .and_then(|n| usize::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| format!("\"{key}\" must be a non-negative integer, got {value}"))
}

/// Why a field of type `ty` cannot have a default value.
fn no_default(ty: DataType, name: &str) -> String {
    match ty {
        // Milvus 2.6's rootcoord checkFieldSchema takes string defaults for VARCHAR,
        // TIMESTAMPTZ and GEOMETRY only.
        DataType::Text => format!(
            "TEXT fields cannot have a default_value: Milvus refuses it (type (Text) of field ({name}) is not equal to the type(DataType_VarChar) of default_value)"
        ),
        _ => format!("{ty} fields cannot have a default_value"),
    }
}

/// A default from pymilvus's protobuf form (`{"long_data": 42}`) or a plain JSON value.
fn parse_default(value: &Value, ty: DataType, name: &str) -> Result<DefaultValue, String> {
    let inner = match value.as_object() {
        Some(map) if map.len() == 1 => map.values().next().unwrap_or(value),
        _ => value,
    };
    let bad = || format!("default_value {value} does not fit a {ty} field");
    Ok(match ty {
        DataType::Bool => DefaultValue::Bool(inner.as_bool().ok_or_else(bad)?),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            let v = match inner {
                Value::String(s) => s.parse::<i64>().ok(),
                v => v.as_i64(),
            };
            DefaultValue::Int(v.ok_or_else(bad)?)
        }
        DataType::Float => DefaultValue::Float(number_of(inner).ok_or_else(bad)? as f32),
        DataType::Double => DefaultValue::Double(number_of(inner).ok_or_else(bad)?),
        DataType::VarChar | DataType::Timestamptz | DataType::Geometry => {
            DefaultValue::String(inner.as_str().ok_or_else(bad)?.to_string())
        }
        _ => return Err(no_default(ty, name)),
    })
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::String(s) => s.parse().ok(),
        v => v.as_f64(),
    }
}

fn bool_attr(obj: &Map<String, Value>, keys: &[&str]) -> Option<bool> {
    keys.iter().find_map(|k| match obj.get(*k) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

fn array_attr<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> &'a [Value] {
    keys.iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_array))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn array_attr_of<'a>(value: &'a Value, keys: &[&str]) -> &'a [Value] {
    value
        .as_object()
        .map(|o| array_attr(o, keys))
        .unwrap_or(&[])
}

/// Milvus's rule for field names (`validateFieldName`): at most 255 characters, a letter or
/// `_` first, then letters, digits and `_` only (ASCII).
pub fn valid_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic());
    first_ok && name.len() <= 255 && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn name_rule(name: &str) -> String {
    let why = if name.is_empty() {
        "it is empty"
    } else if name.len() > 255 {
        "it is longer than 255 characters"
    } else if !name.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic()) {
        "the first character must be a letter or an underscore"
    } else {
        "it may hold only letters, digits and underscores"
    };
    format!("Milvus refuses the field name {name:?}: {why}")
}

fn check_name(name: &str) -> Result<(), SchemaError> {
    if valid_field_name(name) {
        Ok(())
    } else {
        Err(SchemaError::field(name, name_rule(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_v2_describe_is_accepted() {
        let text = r#"{"code": 0, "data": {"collectionName": "c", "enableDynamicField": true,
            "fields": [
              {"name": "id", "type": "Int64", "primaryKey": true, "autoId": false},
              {"name": "v", "type": "FloatVector", "params": [{"key": "dim", "value": "8"}]},
              {"name": "tags", "type": "Array", "elementType": "VarChar",
               "params": [{"key": "max_capacity", "value": "4"}, {"key": "max_length", "value": "16"}]},
              {"name": "n", "type": "Int32", "nullable": true, "defaultValue": 7}
            ]}}"#;
        let s = CollectionSchema::from_json_str(text).unwrap();
        assert!(s.enable_dynamic_field);
        assert_eq!(s.fields[1].dim, Some(8));
        assert_eq!(s.fields[2].element_type, Some(DataType::VarChar));
        assert_eq!(s.fields[2].max_capacity, Some(4));
        assert_eq!(s.fields[3].default_value, Some(DefaultValue::Int(7)));
        assert_eq!(s.column_names(), ["id", "v", "tags", "n", "$meta"]);
    }

    #[test]
    fn bad_schemas_name_the_field_and_problem() {
        let cases = [
            (
                r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
                            {"name": "v", "type": "FLOAT_VECTOR"}]}"#,
                "schema field 'v': FLOAT_VECTOR needs a positive \"dim\" parameter",
            ),
            (
                r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
                            {"name": "b", "type": "BINARY_VECTOR", "params": {"dim": 12}}]}"#,
                "schema field 'b': BINARY_VECTOR dim must be a multiple of 8, got 12",
            ),
            (
                r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
                            {"name": "x", "type": "FLOAT_VECTORS"}]}"#,
                "schema field 'x': unknown type \"FLOAT_VECTORS\"",
            ),
            (
                r#"{"fields": [{"name": "id", "type": "INT64"}]}"#,
                "schema: no primary key field: set \"is_primary\": true on one INT64 or VARCHAR field",
            ),
            (
                r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
                            {"name": "s", "type": "VARCHAR"}]}"#,
                "schema field 's': VARCHAR needs a \"max_length\" parameter",
            ),
            (
                r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
                            {"name": "id", "type": "INT8"}]}"#,
                "schema field 'id': the name is used by two fields",
            ),
            (
                r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
                            {"name": "a", "type": "ARRAY", "element_type": "JSON", "params": {"max_capacity": 2}}]}"#,
                "schema field 'a': ARRAY element_type JSON is not supported",
            ),
            (
                r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
                            {"name": "i", "type": "INT8", "default_value": {"int_data": 300}}]}"#,
                "schema field 'i': default_value Int(300) does not fit a INT8 field",
            ),
            (
                r#"{"fields": []}"#,
                "schema: collection schema fields list is empty",
            ),
            (r#"[1]"#, "schema: expected a JSON object"),
        ];
        for (text, expected) in cases {
            let err = CollectionSchema::from_json_str(text).unwrap_err();
            assert_eq!(err.to_string(), expected, "for {text}");
        }
    }
}
