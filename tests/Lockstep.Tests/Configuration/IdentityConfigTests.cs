using Lockstep.Configuration;
using Lockstep.Tests.Support;

namespace Lockstep.Tests.Configuration;

/// <summary>The create-or-update keys of an http flow (a target that assigns its own ids) are checked at load, each error naming its key.</summary>
public sealed class IdentityConfigTests
{
    private const string Crm = """
        systems:
          crm: { type: http, url: "http://127.0.0.1:9002" }
        flows:
          contacts-to-crm:
            on: [contactChanged]
            to: crm
            lookup: GET /api/contacts?externalKey={key}
            lookupId: $.items[0].id
            create: POST /api/contacts
            createId: $.id
            update: PUT /api/contacts/{targetId}
            delete: DELETE /api/contacts/{targetId}
        """;

    private static IReadOnlyList<ConfigError> Errors(string yaml) => Assert.Throws<ConfigException>(() => TestEngine.Load(yaml, "/tmp")).Errors;

    [Fact]
    public void The_issue_s_crm_flow_loads()
    {
        var config = TestEngine.Load(Crm, "/tmp");

        Assert.Equal("crm", Assert.Single(config.Flows).System);
    }

    [Fact]
    public void A_create_without_a_lookup_is_refused_naming_the_key()
    {
        var errors = Errors(Crm.Replace("    lookup: GET /api/contacts?externalKey={key}\n", "", StringComparison.Ordinal));

        var error = Assert.Single(errors);
        Assert.Equal("flows.contacts-to-crm.lookup", error.Path);
        Assert.Contains("before any second create", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_json_path_and_a_target_id_outside_create_or_update_name_their_keys()
    {
        var badPath = Assert.Single(Errors(Crm.Replace("createId: $.id", "createId: id", StringComparison.Ordinal)));
        var noCreate = Errors("""
            systems:
              crm: { type: http, url: "http://127.0.0.1:9002" }
            flows:
              f: { on: [x], to: crm, upsert: "PUT /c/{targetId}", lookupId: $.id }
            """);

        Assert.Equal(("flows.contacts-to-crm.createId", 10), (badPath.Path, badPath.Line));
        Assert.Contains("not a JSON path", badPath.Message, StringComparison.Ordinal);
        Assert.Contains(noCreate, e => e.Path == "flows.f.upsert" && e.Message.Contains("{targetId} is only known", StringComparison.Ordinal));
        Assert.Contains(noCreate, e => e.Path == "flows.f.lookupId" && e.Message.Contains("only applies with 'create'", StringComparison.Ordinal));
    }
}
