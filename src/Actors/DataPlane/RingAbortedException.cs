using ActorLab.Actors.Training;

namespace ActorLab.Actors.DataPlane;

/// <summary>The ring broke during an all-reduce (a peer closed, failed, fell out of step or sent nothing in time): the run's group aborts.</summary>
public sealed class RingAbortedException(string message) : RunGroupAbortedException(message);
