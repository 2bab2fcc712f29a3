package dev.idgraph.neo4j;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.neo4j.cli.ExecutionContext;
import org.neo4j.commandline.admin.security.SetInitialPasswordCommand;
import org.neo4j.configuration.Config;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnector.EncryptionLevel;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.PortBindException;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.config.Setting;
import org.neo4j.io.ByteUnit;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import org.neo4j.logging.log4j.Log4jLogProvider;
import picocli.CommandLine;

/**
 * A real Neo4j Community DBMS, embedded, whose only door is the Bolt connector on 127.0.0.1:
 * to every Bolt client (the Python driver, cypher-shell) it is a Neo4j server.
 *
 * <pre>
 *   java [--add-opens ...] -cp ... dev.idgraph.neo4j.Launcher --home DIR [--port 7687]
 *        --password PASSWORD [--pagecache 64m] [--transaction-timeout 120s]
 *        [--setting name=value]...
 * </pre>
 *
 * <p>Prints {@code neo4j ready on bolt://127.0.0.1:PORT} on stdout once the default database is
 * available, then runs until SIGTERM or SIGINT. It never reads stdin: a background job's stdin is
 * closed. The DBMS's own logs go to files under {@code DIR/logs} (debug.log, neo4j.log), so stdout
 * carries only the launcher's lines. Exit codes: 143 after SIGTERM, 130 after SIGINT, 2 on bad
 * arguments, 3 if the port is in use, 1 if the DBMS fails to start otherwise.
 */
public final class Launcher {
    private static final String USAGE =
            "usage: Launcher --home DIR --password PASSWORD [--port 7687] [--pagecache 64m]"
                    + " [--transaction-timeout 120s] [--setting name=value]...";

    private Launcher() {}

    public static void main(String[] args) {
        Options options;
        Map<Setting<Object>, Object> extra;
        try {
            options = Options.parse(args);
            extra = parseRawSettings(options.rawSettings);
        } catch (IllegalArgumentException e) {
            System.err.println("neo4j launcher: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        try {
            run(options, extra);
        } catch (Throwable e) {
            System.err.println("neo4j launcher: failed to start: " + e);
            e.printStackTrace();
            System.err.println("neo4j launcher: see " + options.home.resolve("logs") + " for Neo4j's logs");
            for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                if (cause instanceof PortBindException) {
                    System.err.println("neo4j launcher: port " + options.port + " is in use");
                    System.exit(3);
                }
            }
            System.exit(1);
        }
        System.exit(0);
    }

    private static void run(Options options, Map<Setting<Object>, Object> extra) throws Exception {
        Path home = options.home;
        Files.createDirectories(home.resolve("logs"));

        setInitialPassword(home, options.password);

        // the user log (neo4j.log) to a file: stdout carries only the launcher's own lines
        PrintStream userLog = new PrintStream(
                Files.newOutputStream(home.resolve("logs").resolve("neo4j.log"),
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND),
                true, StandardCharsets.UTF_8);
        Log4jLogProvider userLogProvider = new Log4jLogProvider(userLog);

        SocketAddress bolt = new SocketAddress("127.0.0.1", options.port);
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setUserLogProvider(userLogProvider)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, bolt)
                .setConfig(BoltConnector.advertised_address, bolt)
                .setConfig(BoltConnector.encryption_level, EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, options.pagecacheBytes)
                .setConfig(GraphDatabaseSettings.transaction_timeout, options.transactionTimeout)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.routing_enabled, false)
                .setConfig(GraphDatabaseSettings.logs_directory, home.resolve("logs"))
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // without it, shutdown waits Netty's default quiet period (about 5 s)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0);
        for (Map.Entry<Setting<Object>, Object> setting : extra.entrySet()) {
            builder.setConfig(setting.getKey(), setting.getValue());
        }

        // the hook is in place before build(): a SIGTERM while Neo4j starts waits for the start to
        // end and then shuts it down cleanly, rather than killing it halfway
        AtomicReference<DatabaseManagementService> service = new AtomicReference<>();
        AtomicBoolean stopping = new AtomicBoolean();
        CountDownLatch built = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopping.set(true);
            System.out.println("neo4j stopping");
            long stopAt = System.nanoTime();
            try {
                built.await();
                DatabaseManagementService dbms = service.get();
                if (dbms != null) {
                    dbms.shutdown();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                userLogProvider.close();
                userLog.close();
                System.out.printf("neo4j stopped in %.1f s%n", (System.nanoTime() - stopAt) / 1e9);
                stopped.countDown();
            }
        }, "neo4j-shutdown"));

        long started = System.nanoTime();
        try {
            service.set(builder.build());
        } finally {
            built.countDown();
        }
        String database = GraphDatabaseSettings.DEFAULT_DATABASE_NAME;
        boolean available = false;
        try {
            available = !stopping.get()
                    && service.get().database(database).isAvailable(TimeUnit.MINUTES.toMillis(2));
        } catch (RuntimeException e) {
            if (!stopping.get()) {
                throw e;
            }
        }
        if (stopping.get()) {
            stopped.await();
            return;
        }
        if (!available) {
            throw new IllegalStateException("database " + database + " not available after 2 minutes");
        }
        System.out.printf("neo4j ready on bolt://127.0.0.1:%d (database %s, home %s, started in %.1f s)%n",
                options.port, database, home, (System.nanoTime() - started) / 1e9);
        System.out.flush();
        stopped.await();
    }

    /**
     * Sets neo4j's password the way {@code neo4j-admin dbms set-initial-password} does: it takes
     * effect when the system database is created, so only before the first build() of a home. A
     * later ALTER USER races with clients (Unauthorized, then AuthenticationRateLimit).
     */
    private static void setInitialPassword(Path home, String password) throws IOException {
        if (Files.exists(home.resolve("data").resolve("databases").resolve("system"))) {
            System.out.println("neo4j home " + home + " already initialised: its password is the one"
                    + " it was first started with");
            return;
        }
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(said, true, StandardCharsets.UTF_8);
        ExecutionContext context = new ExecutionContext(
                home, home.resolve("conf"), out, out, new DefaultFileSystemAbstraction());
        int code = new CommandLine(new SetInitialPasswordCommand(context)).execute(password);
        if (code != 0) {
            throw new IllegalStateException("set-initial-password failed with exit code " + code + ": "
                    + said.toString(StandardCharsets.UTF_8).strip());
        }
        System.out.println("neo4j home " + home + " is new: password of user neo4j set");
    }

    /** name=value pairs as neo4j.conf would take them, checked and typed by Neo4j's own Config. */
    private static Map<Setting<Object>, Object> parseRawSettings(Map<String, String> raw) {
        Map<Setting<Object>, Object> typed = new LinkedHashMap<>();
        if (raw.isEmpty()) {
            return typed;
        }
        Config config;
        try {
            config = Config.newBuilder().setRaw(raw).build();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad --setting: " + e.getMessage(), e);
        }
        for (String name : raw.keySet()) {
            Setting<Object> setting = config.getSetting(name);
            if (setting == null) {
                throw new IllegalArgumentException("unknown setting " + name);
            }
            typed.put(setting, config.get(setting));
        }
        return typed;
    }

    private static final class Options {
        Path home;
        int port = 7687;
        String password;
        long pagecacheBytes = ByteUnit.mebiBytes(64);
        Duration transactionTimeout = Duration.ofSeconds(120);
        final Map<String, String> rawSettings = new LinkedHashMap<>();

        static Options parse(String[] args) {
            Options options = new Options();
            List<String> rest = new ArrayList<>(List.of(args));
            while (!rest.isEmpty()) {
                String flag = rest.remove(0);
                if (flag.equals("--help") || flag.equals("-h")) {
                    System.out.println(USAGE);
                    System.exit(0);
                }
                if (rest.isEmpty()) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                String value = rest.remove(0);
                switch (flag) {
                    case "--home" -> options.home = Path.of(value).toAbsolutePath().normalize();
                    case "--port" -> options.port = port(value);
                    case "--password" -> options.password = value;
                    case "--pagecache" -> options.pagecacheBytes = bytes(value);
                    case "--transaction-timeout" -> options.transactionTimeout = duration(value);
                    case "--setting" -> {
                        int equals = value.indexOf('=');
                        if (equals <= 0) {
                            throw new IllegalArgumentException("--setting takes name=value, got " + value);
                        }
                        options.rawSettings.put(value.substring(0, equals).strip(),
                                value.substring(equals + 1).strip());
                    }
                    default -> throw new IllegalArgumentException("unknown option " + flag);
                }
            }
            if (options.home == null) {
                throw new IllegalArgumentException("--home is required");
            }
            if (options.password == null) {
                throw new IllegalArgumentException("--password is required");
            }
            if (options.password.length() < 8) {
                throw new IllegalArgumentException(
                        "the password needs at least 8 characters (Neo4j refuses shorter ones), got "
                                + options.password.length());
            }
            return options;
        }

        private static int port(String value) {
            try {
                int port = Integer.parseInt(value);
                if (port < 1 || port > 65535) {
                    throw new NumberFormatException();
                }
                return port;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--port: not a port number: " + value);
            }
        }

        /** 64m, 1g, 512k or a plain number of bytes. */
        private static long bytes(String value) {
            try {
                return ByteUnit.parse(value);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("--pagecache: not a size: " + value);
            }
        }

        /** 120s, 5m, or a plain number of seconds. */
        private static Duration duration(String value) {
            try {
                String v = value.strip().toLowerCase();
                if (v.endsWith("ms")) {
                    return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
                }
                if (v.endsWith("s")) {
                    return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
                }
                if (v.endsWith("m")) {
                    return Duration.ofMinutes(Long.parseLong(v.substring(0, v.length() - 1)));
                }
                return Duration.ofSeconds(Long.parseLong(v));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--transaction-timeout: not a duration: " + value);
            }
        }
    }
}
