namespace ActorLab.Actors.Serialization;

/// <summary>
/// Marker for every message and event that may cross the wire or enter the journal. hocon/actorlab.conf binds
/// it to <see cref="ActorLabSerializer"/> (versioned JSON with a type manifest); each such type is listed in
/// <see cref="MessageRegistry"/> under a stable name and version.
/// </summary>
public interface IActorLabMessage;
