using ActorLab.Actors.Training;

namespace ActorLab.Actors.DataPlane;

/// <summary>A ring could not be joined: a peer refused the handshake (stale epoch, bad MAC, wrong rank) or did not answer in time.</summary>
public sealed class DataPlaneRefusedException(string message) : RunGroupAbortedException(message);
