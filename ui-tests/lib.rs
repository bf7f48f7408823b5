//! trybuild UI cases live in pass/ and fail/.
