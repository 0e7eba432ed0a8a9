//! Milvus data types and how each one is stored in Arrow and NumPy files.

use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType as ArrowType, Field, Fields};

/// A Milvus field data type (the names are pymilvus's `DataType` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `BOOL`
    Bool,
    /// `INT8`
    Int8,
    /// `INT16`
    Int16,
    /// `INT32`
    Int32,
    /// `INT64`
    Int64,
    /// `FLOAT` (float32)
    Float,
    /// `DOUBLE` (float64)
    Double,
    /// `VARCHAR`, limited by `max_length` in UTF-8 bytes
    VarChar,
    /// `TEXT`, a string without a length limit
    Text,
    /// `JSON`
    Json,
    /// `ARRAY` of scalars (`element_type`, `max_capacity`)
    Array,
    /// `TIMESTAMPTZ`, an ISO-8601 string
    Timestamptz,
    /// `GEOMETRY`, a WKT string
    Geometry,
    /// `FLOAT_VECTOR`
    FloatVector,
    /// `BINARY_VECTOR`, `dim` bits packed into `dim / 8` bytes
    BinaryVector,
    /// `FLOAT16_VECTOR`, IEEE half precision
    Float16Vector,
    /// `BFLOAT16_VECTOR`, brain floating point
    BFloat16Vector,
    /// `INT8_VECTOR`
    Int8Vector,
    /// `SPARSE_FLOAT_VECTOR`
    SparseFloatVector,
    /// `STRUCT`: only as the element type of an array-of-struct field
    Struct,
}

impl DataType {
    /// The type of a protobuf `DataType` code (`schema.proto`; what pymilvus's `DataType`
    /// IntEnum holds, so `json.dumps(schema.to_dict())` writes `"type": 5`).
    pub fn from_code(code: i64) -> Option<DataType> {
        Some(match code {
            1 => DataType::Bool,
            2 => DataType::Int8,
            3 => DataType::Int16,
            4 => DataType::Int32,
            5 => DataType::Int64,
            10 => DataType::Float,
            11 => DataType::Double,
            20 | 21 => DataType::VarChar,
            22 => DataType::Array,
            23 => DataType::Json,
            24 => DataType::Geometry,
            25 => DataType::Text,
            26 => DataType::Timestamptz,
            100 => DataType::BinaryVector,
            101 => DataType::FloatVector,
            102 => DataType::Float16Vector,
            103 => DataType::BFloat16Vector,
            104 => DataType::SparseFloatVector,
            105 => DataType::Int8Vector,
            200 | 201 => DataType::Struct,
            _ => return None,
        })
    }

    /// Parses a type name in any of the spellings schemas use: pymilvus (`FLOAT_VECTOR`),
    /// REST v2 (`FloatVector`) or lower case. Underscores and case are ignored.
    pub fn from_name(name: &str) -> Option<DataType> {
        let key: String = name
            .chars()
            .filter(|c| *c != '_')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        Some(match key.as_str() {
            "BOOL" | "BOOLEAN" => DataType::Bool,
            "INT8" => DataType::Int8,
            "INT16" => DataType::Int16,
            "INT32" => DataType::Int32,
            "INT64" => DataType::Int64,
            "FLOAT" => DataType::Float,
            "DOUBLE" => DataType::Double,
            "VARCHAR" | "STRING" => DataType::VarChar,
            "TEXT" => DataType::Text,
            "JSON" => DataType::Json,
            "ARRAY" => DataType::Array,
            "TIMESTAMPTZ" => DataType::Timestamptz,
            "GEOMETRY" => DataType::Geometry,
            "FLOATVECTOR" => DataType::FloatVector,
            "BINARYVECTOR" => DataType::BinaryVector,
            "FLOAT16VECTOR" => DataType::Float16Vector,
            "BFLOAT16VECTOR" => DataType::BFloat16Vector,
            "INT8VECTOR" => DataType::Int8Vector,
            "SPARSEFLOATVECTOR" => DataType::SparseFloatVector,
            "STRUCT" | "ARRAYOFSTRUCT" => DataType::Struct,
            _ => return None,
        })
    }

    /// The pymilvus name of the type, as used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Bool => "BOOL",
            DataType::Int8 => "INT8",
            DataType::Int16 => "INT16",
            DataType::Int32 => "INT32",
            DataType::Int64 => "INT64",
            DataType::Float => "FLOAT",
            DataType::Double => "DOUBLE",
            DataType::VarChar => "VARCHAR",
            DataType::Text => "TEXT",
            DataType::Json => "JSON",
            DataType::Array => "ARRAY",
            DataType::Timestamptz => "TIMESTAMPTZ",
            DataType::Geometry => "GEOMETRY",
            DataType::FloatVector => "FLOAT_VECTOR",
            DataType::BinaryVector => "BINARY_VECTOR",
            DataType::Float16Vector => "FLOAT16_VECTOR",
            DataType::BFloat16Vector => "BFLOAT16_VECTOR",
            DataType::Int8Vector => "INT8_VECTOR",
            DataType::SparseFloatVector => "SPARSE_FLOAT_VECTOR",
            DataType::Struct => "STRUCT",
        }
    }

    /// Dense vector types, which need a `dim`.
    pub fn is_dense_vector(self) -> bool {
        matches!(
            self,
            DataType::FloatVector
                | DataType::BinaryVector
                | DataType::Float16Vector
                | DataType::BFloat16Vector
                | DataType::Int8Vector
        )
    }

    /// Types stored as text (`VARCHAR` and its unlimited relatives).
    pub fn is_string(self) -> bool {
        matches!(
            self,
            DataType::VarChar | DataType::Text | DataType::Timestamptz | DataType::Geometry
        )
    }

    /// Element types an `ARRAY` field may have.
    pub fn is_array_element(self) -> bool {
        matches!(
            self,
            DataType::Bool
                | DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Float
                | DataType::Double
                | DataType::VarChar
                | DataType::Text
        )
    }

    /// Types that may carry a `default_value` (pymilvus `infer_default_value_bydata`).
    pub fn allows_default(self) -> bool {
        matches!(
            self,
            DataType::Bool
                | DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Float
                | DataType::Double
                | DataType::VarChar
                | DataType::Timestamptz
                | DataType::Geometry
        )
    }

    /// The Arrow type of a scalar of this type (also an `ARRAY` element).
    ///
    /// `None` for types that have no scalar Arrow form (vectors, `ARRAY`, `STRUCT`).
    pub fn scalar_arrow_type(self) -> Option<ArrowType> {
        Some(match self {
            DataType::Bool => ArrowType::Boolean,
            DataType::Int8 => ArrowType::Int8,
            DataType::Int16 => ArrowType::Int16,
            DataType::Int32 => ArrowType::Int32,
            DataType::Int64 => ArrowType::Int64,
            DataType::Float => ArrowType::Float32,
            DataType::Double => ArrowType::Float64,
            DataType::VarChar
            | DataType::Text
            | DataType::Timestamptz
            | DataType::Geometry
            | DataType::Json
            | DataType::SparseFloatVector => ArrowType::Utf8,
            _ => return None,
        })
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name pymilvus (through pyarrow) gives the child of every list column.
pub(crate) const LIST_ITEM_NAME: &str = "element";

/// `list<element: T>` with a nullable child, the layout pyarrow writes and Milvus reads.
pub(crate) fn list_of(item: ArrowType) -> ArrowType {
    ArrowType::List(Arc::new(Field::new(LIST_ITEM_NAME, item, true)))
}

/// `struct<...>` from named children, all nullable as pyarrow writes them.
pub(crate) fn struct_of(children: Vec<Field>) -> ArrowType {
    ArrowType::Struct(Fields::from(children))
}
