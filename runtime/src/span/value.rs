//! Conversion of Rust values into typed OpenTelemetry attribute values.

use opentelemetry::{Array, StringValue, Value};
use std::borrow::Cow;
use std::fmt::{Debug, Display};
use std::rc::Rc;
use std::sync::Arc;

/// A value that can be recorded as a span attribute, keeping its type on the wire.
///
/// Implemented for integers, floats, `bool`, `char`, string types, `Option<T>`
/// (where `None` records nothing) and slices, arrays and `Vec`s of those. Any
/// other type is recorded with `%expr` (its `Display`) or `?expr` (its `Debug`).
///
/// ```
/// use spanwright::AttrValue;
/// use spanwright::opentelemetry::Value;
///
/// assert_eq!(7u32.to_attr_value(), Some(Value::I64(7)));
/// assert_eq!(None::<&str>.to_attr_value(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a span attribute value",
    label = "`{Self}` is not an attribute value type",
    note = "record it with `%expr` (its Display) or `?expr` (its Debug)",
    note = "recordable as they are: integers, floats, bool, char, &str, String, Cow<str>, Option<T> and slices or Vecs of those"
)]
pub trait AttrValue {
    /// The attribute value, or `None` to record nothing.
    fn to_attr_value(&self) -> Option<Value>;

    /// What span start takes: strings borrowed, copied only if recorded.
    #[doc(hidden)]
    #[inline]
    fn __typed(&self) -> Typed<'_> {
        match self.to_attr_value() {
            Some(value) => Typed::Value(value),
            None => Typed::Nothing,
        }
    }
}

/// An attribute value on its way into a span: typed, or a string borrowed
/// from the caller and copied only once the span records it (a short one in
/// place, without an allocation).
#[doc(hidden)]
#[derive(Debug)]
pub enum Typed<'a> {
    /// Nothing to record (`None`).
    Nothing,
    /// A typed value.
    Value(Value),
    /// A string, borrowed.
    Text(&'a str),
}

impl<T: AttrValue + ?Sized> AttrValue for &T {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        (**self).to_attr_value()
    }

    #[inline]
    fn __typed(&self) -> Typed<'_> {
        (**self).__typed()
    }
}

impl<T: AttrValue + ?Sized> AttrValue for &mut T {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        (**self).to_attr_value()
    }

    #[inline]
    fn __typed(&self) -> Typed<'_> {
        (**self).__typed()
    }
}

impl<T: AttrValue> AttrValue for Option<T> {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        self.as_ref().and_then(T::to_attr_value)
    }

    #[inline]
    fn __typed(&self) -> Typed<'_> {
        match self {
            Some(value) => value.__typed(),
            None => Typed::Nothing,
        }
    }
}

macro_rules! exact_integers {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            #[inline]
            fn to_attr_value(&self) -> Option<Value> {
                Some(Value::I64(i64::from(*self)))
            }
        }
    )*};
}
exact_integers!(i8, i16, i32, i64, u8, u16, u32);

// Wider integers become Int when they fit and a decimal string when they do not,
// so no value is ever silently wrapped.
macro_rules! wide_integers {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            #[inline]
            fn to_attr_value(&self) -> Option<Value> {
                Some(match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                })
            }
        }
    )*};
}
wide_integers!(u64, usize, isize, i128, u128);

impl AttrValue for f64 {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}

impl AttrValue for f32 {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}

impl AttrValue for bool {
    #[inline]
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

macro_rules! strings {
    ($($t:ty),*) => {$(
        impl AttrValue for $t {
            #[inline]
            fn to_attr_value(&self) -> Option<Value> {
                Some(Value::String(string_value(self)))
            }

            #[inline]
            fn __typed(&self) -> Typed<'_> {
                Typed::Text(AsRef::<str>::as_ref(self))
            }
        }
    )*};
}
strings!(str, String, Cow<'_, str>, Box<str>, Arc<str>, Rc<str>);

impl AttrValue for char {
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::String(self.to_string().into()))
    }
}

fn string_value(s: &str) -> StringValue {
    StringValue::from(s.to_owned())
}

/// An element type of a homogeneous attribute array.
#[diagnostic::on_unimplemented(
    message = "a list of `{Self}` cannot be recorded as a span attribute value",
    note = "lists of integers, floats, bool or strings are recordable; record others with `?expr`"
)]
///
/// ```
/// use spanwright::testing::SpanDataExt;
/// use spanwright::opentelemetry::{Array, Value};
/// #[spanwright::span(attrs(sizes))]
/// fn batch(sizes: &[u32]) {}
/// let ((), spans) = spanwright::testing::capture(|| batch(&[3, 5]));
/// assert_eq!(spans[0].attr("sizes"), Some(&Value::Array(Array::I64(vec![3, 5]))));
/// ```
pub trait ArrayElement: Sized {
    /// The OpenTelemetry array holding these elements.
    fn to_array(items: &[Self]) -> Array;
}

macro_rules! int_elements {
    ($($t:ty),*) => {$(
        impl ArrayElement for $t {
            fn to_array(items: &[Self]) -> Array {
                Array::I64(items.iter().map(|v| i64::from(*v)).collect())
            }
        }
    )*};
}
int_elements!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! wide_int_elements {
    ($($t:ty),*) => {$(
        impl ArrayElement for $t {
            /// Ints when every element fits in an `i64`; otherwise decimal
            /// strings, as a single value of the type records (an array has one
            /// element type).
            fn to_array(items: &[Self]) -> Array {
                let ints: Result<Vec<i64>, _> = items.iter().map(|v| i64::try_from(*v)).collect();
                match ints {
                    Ok(ints) => Array::I64(ints),
                    Err(_) => Array::String(items.iter().map(|v| v.to_string().into()).collect()),
                }
            }
        }
    )*};
}
wide_int_elements!(u64, usize, isize, i128, u128);

impl ArrayElement for f64 {
    fn to_array(items: &[Self]) -> Array {
        Array::F64(items.to_vec())
    }
}

impl ArrayElement for f32 {
    fn to_array(items: &[Self]) -> Array {
        Array::F64(items.iter().map(|v| f64::from(*v)).collect())
    }
}

impl ArrayElement for bool {
    fn to_array(items: &[Self]) -> Array {
        Array::Bool(items.to_vec())
    }
}

macro_rules! string_elements {
    ($($t:ty),*) => {$(
        impl ArrayElement for $t {
            fn to_array(items: &[Self]) -> Array {
                Array::String(items.iter().map(|s| string_value(s)).collect())
            }
        }
    )*};
}
string_elements!(&str, String, Cow<'_, str>, Box<str>, Arc<str>);

impl<T: ArrayElement> AttrValue for [T] {
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::Array(T::to_array(self)))
    }
}

impl<T: ArrayElement, const N: usize> AttrValue for [T; N] {
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::Array(T::to_array(self)))
    }
}

impl<T: ArrayElement> AttrValue for Vec<T> {
    fn to_attr_value(&self) -> Option<Value> {
        Some(Value::Array(T::to_array(self)))
    }
}

/// The typed attribute value of `value` (what `key = expr` records).
#[inline]
pub fn to_value<T: AttrValue + ?Sized>(value: &T) -> Typed<'_> {
    value.__typed()
}

/// `value`'s `Display` as a string attribute (what `key = %expr` records).
#[inline]
pub fn display_value<T: Display + ?Sized>(value: &T) -> Option<Value> {
    Some(Value::String(value.to_string().into()))
}

/// `value`'s `Debug` as a string attribute (what `key = ?expr` records).
#[inline]
pub fn debug_value<T: Debug + ?Sized>(value: &T) -> Option<Value> {
    Some(Value::String(format!("{value:?}").into()))
}
