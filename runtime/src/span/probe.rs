//! Classifies an annotated function's return value by its concrete type, at the
//! call site, through autoref method resolution: the generated code calls
//! `(&&&&Probe(&value)).__spanwright_failure()` and the most specific impl wins.
//!
//! Failure: `Result` with a `Display` error, then a `Debug` error, then any error
//! (described by its type name), then anything else (no failure). Return value
//! (`ret`): a recordable `Ok` value, a `Debug` `Ok` value, a recordable value, a
//! `Debug` value.
#![allow(missing_docs, unreachable_pub)]

use crate::span::recording::Failure;
use crate::span::value::{AttrValue, debug_value};
use opentelemetry::Value;
use std::any::type_name;
use std::borrow::Cow;
use std::fmt::{Debug, Display};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub struct Probe<'a, T>(pub &'a T);

fn failure<E>(message: &dyn Fn() -> String) -> Option<Failure> {
    Some(failure_named(type_name::<E>(), message))
}

/// An error's `Display` or `Debug` may panic: the span still records the failure
/// with its type, and the panic goes on once the span has ended.
fn failure_named(type_name: &'static str, message: &dyn Fn() -> String) -> Failure {
    let (message, panic) = match catch_unwind(AssertUnwindSafe(message)) {
        Ok(message) => (message, None),
        Err(payload) => (
            format!(
                "formatting the error panicked: {}",
                crate::span::panic_capture::message_of(&*payload)
            ),
            Some(payload),
        ),
    };
    Failure {
        exception: true,
        type_name: Cow::Borrowed(type_name),
        message,
        panic,
    }
}

pub trait FailureDisplay {
    fn __spanwright_failure(&self) -> Option<Failure>;
}
impl<T, E: Display> FailureDisplay for &&&Probe<'_, Result<T, E>> {
    fn __spanwright_failure(&self) -> Option<Failure> {
        self.0
            .as_ref()
            .err()
            .and_then(|e| failure::<E>(&|| e.to_string()))
    }
}

pub trait FailureDebug {
    fn __spanwright_failure(&self) -> Option<Failure>;
}
impl<T, E: Debug> FailureDebug for &&Probe<'_, Result<T, E>> {
    fn __spanwright_failure(&self) -> Option<Failure> {
        self.0
            .as_ref()
            .err()
            .and_then(|e| failure::<E>(&|| format!("{e:?}")))
    }
}

pub trait FailureOpaque {
    fn __spanwright_failure(&self) -> Option<Failure>;
}
impl<T, E> FailureOpaque for &Probe<'_, Result<T, E>> {
    fn __spanwright_failure(&self) -> Option<Failure> {
        self.0
            .as_ref()
            .err()
            .and_then(|_| failure::<E>(&|| type_name::<E>().to_owned()))
    }
}

pub trait FailureNone {
    fn __spanwright_failure(&self) -> Option<Failure>;
}
impl<T> FailureNone for Probe<'_, T> {
    fn __spanwright_failure(&self) -> Option<Failure> {
        None
    }
}

pub trait RetOkValue {
    fn __spanwright_ret(&self) -> Option<Value>;
}
impl<T: AttrValue, E> RetOkValue for &&&Probe<'_, Result<T, E>> {
    fn __spanwright_ret(&self) -> Option<Value> {
        self.0.as_ref().ok().and_then(AttrValue::to_attr_value)
    }
}

pub trait RetOkDebug {
    fn __spanwright_ret(&self) -> Option<Value>;
}
impl<T: Debug, E> RetOkDebug for &&Probe<'_, Result<T, E>> {
    fn __spanwright_ret(&self) -> Option<Value> {
        self.0.as_ref().ok().and_then(|v| debug_value(v))
    }
}

pub trait RetValue {
    fn __spanwright_ret(&self) -> Option<Value>;
}
impl<T: AttrValue> RetValue for &Probe<'_, T> {
    fn __spanwright_ret(&self) -> Option<Value> {
        self.0.to_attr_value()
    }
}

pub trait RetDebug {
    fn __spanwright_ret(&self) -> Option<Value>;
}
impl<T: Debug> RetDebug for Probe<'_, T> {
    fn __spanwright_ret(&self) -> Option<Value> {
        debug_value(self.0)
    }
}
