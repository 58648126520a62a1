using ActorLab.Model.Probes;

namespace ActorLab.Actors.Probes;

/// <summary>Sweep -> probe actor: fit this probe (attempt counts from 1).</summary>
public sealed record RunProbeJob(ProbeJob Job, int Attempt);

/// <summary>Probe actor -> sweep: the job's result row.</summary>
public sealed record ProbeJobSucceeded(ProbeJob Job, int Attempt, ProbeResult Result, TimeSpan Elapsed);

/// <summary>Probe actor -> sweep: the job threw; the sweep retries it or gives up on it.</summary>
public sealed record ProbeJobFailed(ProbeJob Job, int Attempt, string Error);

/// <summary>A job that failed every attempt, with the last error.</summary>
public sealed record ProbeJobFailure(ProbeJob Job, int Attempts, string LastError);

/// <summary>Sweep -> whoever started it (and the progress listener): one job settled.</summary>
public sealed record ProbeSweepProgress(int Done, int Failed, int Total, ProbeJob Job, bool Succeeded, string Detail);

/// <summary>
/// Sweep -> whoever started it: every job settled. <see cref="Files"/> are the CSV and heatmaps written
/// (empty when the sweep has no output folder or nothing succeeded).
/// </summary>
public sealed record ProbeSweepFinished(IReadOnlyList<ProbeResult> Results, IReadOnlyList<ProbeJobFailure> Failures, IReadOnlyList<string> Files);

/// <summary>Ask the sweep how far it is (answered with <see cref="ProbeSweepStatus"/>).</summary>
public sealed record GetProbeSweepStatus
{
    public static readonly GetProbeSweepStatus Instance = new();
}

public sealed record ProbeSweepStatus(int Total, int Done, int Failed, int Running, int Queued);
