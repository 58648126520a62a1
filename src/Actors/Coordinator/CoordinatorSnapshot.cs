using System.Collections.Immutable;
using ActorLab.Actors.Serialization;

namespace ActorLab.Actors.Coordinator;

/// <summary>A <see cref="SweepState"/> as stored in the snapshot store (flat lists, versioned like events).</summary>
public sealed record CoordinatorSnapshot(
    ImmutableArray<SweepInfo> Sweeps,
    ImmutableArray<RunInfo> Runs,
    ImmutableArray<DatasetInfo> Datasets,
    long LastEpoch) : IActorLabMessage
{
    public static CoordinatorSnapshot From(SweepState s) =>
        new([.. s.Sweeps.Values], [.. s.Runs.Values], [.. s.Datasets.Values], s.LastEpoch);

    public SweepState ToState() => SweepState.Empty with
    {
        Sweeps = SweepState.Empty.Sweeps.SetItems(Sweeps.Select(x => KeyValuePair.Create(x.Spec.Name, x))),
        Runs = SweepState.Empty.Runs.SetItems(Runs.Select(x => KeyValuePair.Create(x.Spec.RunId, x))),
        Datasets = SweepState.Empty.Datasets.SetItems(Datasets.Select(x => KeyValuePair.Create(x.Spec.Key, x))),
        LastEpoch = LastEpoch,
    };
}
