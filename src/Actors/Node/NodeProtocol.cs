using System.Collections.Immutable;
using Akka.Actor;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Serialization;
using ActorLab.Actors.Sweeps;

namespace ActorLab.Actors.Node;

/// <summary>A lease a node is working on, as it tells the coordinator (confirms the lease is alive).</summary>
public sealed record LeaseHeld(string RunId, long Epoch);

/// <summary>
/// A NodeAgent announces itself and its trainer slots, and re-announces every heartbeat with the leases it
/// holds; a lease no node confirms within the lease timeout is lost.
/// </summary>
public sealed record RegisterNode(string NodeId, IActorRef Agent, int Slots, string Device, ImmutableArray<LeaseHeld> Leases) : IActorLabMessage;

/// <summary>Coordinator to node: train this run on these slots under this epoch.</summary>
public sealed record StartRun(
    string RunId,
    long Epoch,
    ImmutableArray<int> Slots,
    RunSpec Run,
    TrainingSettings Training,
    double HopRatio,
    DatasetSpec Dataset,
    string ProfilesPath,
    string TokenizerPath,
    string RunDir,
    IActorRef Coordinator) : IActorLabMessage
{
    public int WorldSize => Slots.Length;
}

/// <summary>Coordinator to node: end this run's lease (suspend: checkpoint first; cancel: now).</summary>
public sealed record StopRun(string RunId, long Epoch, StopKind Kind) : IActorLabMessage;
