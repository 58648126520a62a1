using ActorLab.Actors.Config;
using ActorLab.Actors.Node;

namespace ActorLab.Actors.DataPlane;

/// <summary>A trainer node's data plane: its listener, where the other nodes reach it, and its deadlines.</summary>
public sealed record NodeDataPlane(DataPlaneListener Listener, DataPlaneEndpoint Endpoint, DataPlaneSettings Settings);
