using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace ActorLab.Actors.Serialization;

/// <summary>
/// Stands where Akka's default serializer (Newtonsoft JSON, id 1, bound to System.Object) would: that one builds
/// whatever CLR type a payload names, so any peer that reaches the remoting port could make a node construct
/// arbitrary types (a gadget chain away from running code). Everything ActorLab sends has its own serializer and
/// Akka's own messages have theirs, so nothing legitimate uses id 1: a payload that claims it is refused (remoting
/// logs and drops it) and a local message of an unbound type fails loudly instead of crossing the wire.
/// </summary>
public sealed class RefuseUnboundSerializer(ExtendedActorSystem system) : Serializer(system)
{
    // Akka builds the serializer named "json" with its settings section (akka.actor.serialization-settings.json)
    public RefuseUnboundSerializer(ExtendedActorSystem system, Akka.Configuration.Config settings) : this(system) { _ = settings; }

    public override int Identifier => 1;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new SerializationException($"{obj.GetType().FullName} is not an ActorLab message: only ActorLab's messages and Akka's own cross the wire");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new SerializationException($"refused a {bytes.Length}-byte payload in Akka's reflection-based JSON format (serializer 1): ActorLab reads only its own message format");
}
