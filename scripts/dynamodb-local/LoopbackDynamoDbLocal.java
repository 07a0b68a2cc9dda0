// Starts Amazon's DynamoDB Local bound to 127.0.0.1 only.
//
// DynamoDB Local has no option for the address it listens on: its Jetty server is
// built with a port alone, which binds every interface. This launcher builds the
// server from the usual command line, sets the loopback host on its connector
// before starting it, and prints the port it got, so `-port 0` can pick a free
// port without a race between choosing it and binding it.
//
// Run with the jar and its libraries on the class path:
//   java -cp 'DynamoDBLocal.jar:DynamoDBLocal_lib/*' LoopbackDynamoDbLocal.java -port 0 -inMemory -sharedDb
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDbLocal {
    public static void main(String[] args) throws Exception {
        // DynamoDB Local refuses port 0; validate with a stand-in and set 0 on the connector.
        boolean anyPort = false;
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("-port") && args[i + 1].equals("0")) {
                args[i + 1] = "8000";
                anyPort = true;
            }
        }
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost("127.0.0.1");
            if (anyPort) {
                ((ServerConnector) connector).setPort(0);
            }
        }
        proxy.start();
        int port = ((ServerConnector) server.getConnectors()[0]).getLocalPort();
        System.out.println("DynamoDB Local listening on http://127.0.0.1:" + port);
        proxy.join();
    }
}
