//! The server layer's metrics (feature `metrics`): `http.server.active_requests`
//! while a request is served, and `http.server.request.duration` when it ends,
//! with the attributes the semantic conventions list for it. Recorded for every
//! request whose span started, sampled or not; the exemplar is the span's ids
//! when it was sampled. Without the feature (or without a meter) this is empty.

#[cfg(feature = "metrics")]
pub(super) use recorded::ServerMetrics;

#[cfg(not(feature = "metrics"))]
/// Nothing to record without the `metrics` feature.
#[derive(Debug, Default)]
pub(super) struct ServerMetrics(());

#[cfg(not(feature = "metrics"))]
impl ServerMetrics {
    pub(super) fn start<B>(
        _: &::http::Request<B>,
        _: &'static str,
        _: Option<&str>,
        _: Option<&crate::span::recording::Recording>,
    ) -> Self {
        ServerMetrics(())
    }
    pub(super) fn status(&mut self, _: ::http::StatusCode) {}
    pub(super) fn failed(&mut self, _: std::borrow::Cow<'static, str>) {}
    pub(super) fn end(&mut self) {}
}

#[cfg(feature = "metrics")]
mod recorded {
    use crate::metrics::instruments::Instrument;
    use crate::metrics::meter::{Attr, Meter};
    use crate::pipeline::clock::unix_nanos;
    use crate::span::recording::Recording;
    use std::borrow::Cow;
    use std::sync::Arc;
    use std::time::SystemTime;

    /// A request being served, counted among the active ones until it drops.
    #[derive(Debug, Default)]
    pub(in crate::http) struct ServerMetrics(Option<Box<Serving>>);

    #[derive(Debug)]
    struct Serving {
        meter: Arc<Meter>,
        start: SystemTime,
        method: &'static str,
        scheme: &'static str,
        route: Option<String>,
        version: &'static str,
        status: Option<u16>,
        error_type: Option<Cow<'static, str>>,
        span: opentelemetry::trace::SpanContext,
    }

    impl ServerMetrics {
        /// Starts counting a request whose span started (`recording`), when a
        /// meter is installed.
        pub(in crate::http) fn start<B>(
            request: &::http::Request<B>,
            scheme: &'static str,
            route: Option<&str>,
            recording: Option<&Recording>,
        ) -> Self {
            let Some(recording) = recording else {
                return ServerMetrics(None);
            };
            let cx = opentelemetry::Context::current();
            let Some(meter) = crate::span::tracer::meter_for(&cx) else {
                return ServerMetrics(None);
            };
            let method = super::super::conventions::method_value(request.method().as_str());
            meter.add(
                Instrument::HttpServerActiveRequests,
                active(method, scheme),
                1,
            );
            ServerMetrics(Some(Box::new(Serving {
                meter,
                start: crate::pipeline::clock::now(),
                method,
                scheme,
                route: route.map(str::to_owned),
                version: super::super::server::version(request.version()),
                status: None,
                error_type: None,
                span: recording.span_context(),
            })))
        }

        /// The response's status code; a 5xx is the request's failure.
        pub(in crate::http) fn status(&mut self, status: ::http::StatusCode) {
            if let Some(serving) = &mut self.0 {
                serving.status = Some(status.as_u16());
                if status.is_server_error() {
                    serving.error_type = Some(Cow::Owned(status.as_u16().to_string()));
                }
            }
        }

        /// The request ended: its metrics are recorded now (at the latest, when
        /// it drops).
        pub(in crate::http) fn end(&mut self) {
            self.0 = None;
        }

        /// The request failed: the service's error type, `panic`, or the body's failure.
        pub(in crate::http) fn failed(&mut self, error_type: Cow<'static, str>) {
            if let Some(serving) = &mut self.0 {
                serving.error_type = Some(error_type);
            }
        }
    }

    fn active(method: &'static str, scheme: &'static str) -> Vec<(&'static str, Attr)> {
        vec![
            ("http.request.method", Attr::Str(Cow::Borrowed(method))),
            ("url.scheme", Attr::Str(Cow::Borrowed(scheme))),
        ]
    }

    impl Drop for Serving {
        /// The request ended (its body sent, failed, or dropped).
        fn drop(&mut self) {
            let end = crate::pipeline::clock::now();
            let seconds = end
                .duration_since(self.start)
                .unwrap_or_default()
                .as_secs_f64();
            let mut attributes = active(self.method, self.scheme);
            if let Some(route) = self.route.take() {
                attributes.push(("http.route", Attr::Str(Cow::Owned(route))));
            }
            if let Some(status) = self.status {
                attributes.push(("http.response.status_code", Attr::Int(i64::from(status))));
            }
            if let Some(error_type) = self.error_type.take() {
                attributes.push(("error.type", Attr::Str(error_type)));
            }
            attributes.push((
                "network.protocol.version",
                Attr::Str(Cow::Borrowed(self.version)),
            ));
            let exemplar = crate::metrics::record::exemplar(&self.span, seconds, unix_nanos(end));
            self.meter.record(
                Instrument::HttpServerRequestDuration,
                attributes,
                seconds,
                exemplar,
            );
            self.meter.add(
                Instrument::HttpServerActiveRequests,
                active(self.method, self.scheme),
                -1,
            );
        }
    }
}
