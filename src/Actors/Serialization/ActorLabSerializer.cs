using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;

namespace ActorLab.Actors.Serialization;

/// <summary>
/// Versioned JSON for everything that crosses the wire or enters the journal: the payload is System.Text.Json
/// of the record, the manifest is the stable name and version from <see cref="MessageRegistry"/>
/// (e.g. "run-leased@1"), never a CLR type name. An unknown manifest or a payload that does not parse throws
/// <see cref="SerializationException"/>: remoting logs and drops such a message; recovery refuses it. Messages
/// carry no actor references (replies go to the sender), so nothing here resolves one.
/// </summary>
public sealed class ActorLabSerializer : SerializerWithStringManifest
{
    readonly JsonSerializerOptions _json;

    public ActorLabSerializer(ExtendedActorSystem system) : base(system)
    {
        _json = CreateOptions(system);
    }

    public override int Identifier => 7301;

    /// <summary>The options outside any actor system (`db check`, signed console commands), made once: options cache metadata.</summary>
    public static readonly JsonSerializerOptions Standalone = CreateOptions(null);

    public static JsonSerializerOptions CreateOptions(ExtendedActorSystem? system)
    {
        var o = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        o.Converters.Add(new JsonStringEnumConverter());
        return o;
    }

    public override string Manifest(object o) => MessageRegistry.ManifestOf(o.GetType());

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _json);

    public override object FromBinary(byte[] bytes, string manifest) => Read(bytes, manifest, _json);

    /// <summary>One payload by its manifest (also used by `db check`, outside any actor system).</summary>
    public static object Read(byte[] bytes, string manifest, JsonSerializerOptions json)
    {
        if (MessageRegistry.IsFormat1(manifest))
            throw new SerializationException(
                $"'{manifest}' is journal format 1 (ActorLab before the cluster); this version reads format 2. " +
                "Finish those sweeps with the older ActorLab, or move the journal aside (journal.db) and submit them again.");
        var type = MessageRegistry.TypeOf(manifest)
                   ?? throw new SerializationException($"unknown ActorLab message manifest '{manifest}' (a newer or older peer?)");
        try
        {
            return JsonSerializer.Deserialize(bytes, type, json)
                   ?? throw new SerializationException($"empty payload for '{manifest}'");
        }
        catch (JsonException e)
        {
            throw new SerializationException($"cannot read '{manifest}': {e.Message}", e);
        }
    }
}
