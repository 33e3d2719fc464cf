// @generated automatically by Diesel CLI.

diesel::table! {
    cron_jobs (name) {
        name -> Text,
        job_type -> Text,
        cron_expression -> Text,
        timezone -> Text,
        params -> Text,
        max_attempts -> Integer,
        enabled -> Bool,
        last_run_at -> Nullable<BigInt>,
        next_run_at -> BigInt,
        last_job_id -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    job_attempts (job_id, attempt) {
        job_id -> Text,
        attempt -> Integer,
        worker -> Nullable<Text>,
        started_at -> Nullable<BigInt>,
        finished_at -> BigInt,
        outcome -> Text,
        error -> Nullable<Text>,
        ended_by -> Nullable<Text>,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        job_type -> Text,
        status -> Text,
        stage -> Nullable<Text>,
        progress -> Nullable<Float>,
        params -> Text,
        result -> Nullable<Text>,
        error -> Nullable<Text>,
        retry_count -> Integer,
        max_attempts -> Integer,
        attempt -> Integer,
        run_at -> BigInt,
        locked_by -> Nullable<Text>,
        lease_expires_at -> Nullable<BigInt>,
        cancel_requested -> Bool,
        retry_of -> Nullable<Text>,
        correlation_id -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
        started_at -> Nullable<BigInt>,
        completed_at -> Nullable<BigInt>,
        queue -> Text,
        priority -> Integer,
        unique_key -> Nullable<Text>,
        unique_scope -> Nullable<Text>,
        unique_for_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    queues (name) {
        name -> Text,
        paused -> Bool,
        concurrency_limit -> Nullable<Integer>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    workers (id) {
        id -> Text,
        host -> Text,
        pid -> Integer,
        queues -> Text,
        version -> Text,
        lease_ms -> BigInt,
        started_at -> BigInt,
        last_seen_at -> BigInt,
        stopped_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(cron_jobs, job_attempts, jobs, queues, workers,);
