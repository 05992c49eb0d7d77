<?php
/**
 * Plugin Name: Couvée tracking
 * Description: Adds the Couvée tracking snippet to every page, and identifies logged-in users (signed).
 * Version: 1.0.0
 * Requires at least: 5.0
 * Requires PHP: 7.2
 * License: MIT
 */

if (!defined('ABSPATH')) {
    exit;
}

const COUVEE_OPTION = 'couvee_tracking';

function couvee_tracking_options() {
    $defaults = array('server' => '', 'site_key' => '', 'identify_secret' => '');
    return wp_parse_args(get_option(COUVEE_OPTION, array()), $defaults);
}

function couvee_tracking_sanitize($input) {
    $clean = array();
    $server = isset($input['server']) ? esc_url_raw(trim($input['server']), array('http', 'https')) : '';
    $clean['server'] = untrailingslashit($server);
    $key = isset($input['site_key']) ? trim($input['site_key']) : '';
    $clean['site_key'] = preg_match('/^[A-Za-z0-9_-]{1,64}$/', $key) ? $key : '';
    $secret = isset($input['identify_secret']) ? trim($input['identify_secret']) : '';
    $clean['identify_secret'] = preg_match('/^[0-9a-f]{0,128}$/', $secret) ? $secret : '';
    if ($clean['server'] === '' || $clean['site_key'] === '') {
        add_settings_error(COUVEE_OPTION, 'couvee_missing', 'Enter the Couvée address and the site key.');
    }
    return $clean;
}

function couvee_tracking_admin_menu() {
    add_options_page('Couvée tracking', 'Couvée tracking', 'manage_options', 'couvee-tracking',
        'couvee_tracking_settings_page');
}

function couvee_tracking_register_settings() {
    register_setting('couvee_tracking', COUVEE_OPTION, array('sanitize_callback' => 'couvee_tracking_sanitize'));
}

function couvee_tracking_settings_page() {
    if (!current_user_can('manage_options')) {
        return;
    }
    $options = couvee_tracking_options();
    ?>
    <div class="wrap">
      <h1>Couvée tracking</h1>
      <form method="post" action="options.php">
        <?php settings_fields('couvee_tracking'); ?>
        <table class="form-table" role="presentation">
          <tr><th scope="row"><label for="couvee-server">Couvée address</label></th>
            <td><input id="couvee-server" class="regular-text" type="url" name="<?php echo esc_attr(COUVEE_OPTION); ?>[server]"
              value="<?php echo esc_attr($options['server']); ?>" placeholder="https://marketing.example.com"></td></tr>
          <tr><th scope="row"><label for="couvee-key">Site key</label></th>
            <td><input id="couvee-key" class="regular-text" name="<?php echo esc_attr(COUVEE_OPTION); ?>[site_key]"
              value="<?php echo esc_attr($options['site_key']); ?>">
              <p class="description">In Couvée: Visits → Sites → your site.</p></td></tr>
          <tr><th scope="row"><label for="couvee-secret">Identify secret (optional)</label></th>
            <td><input id="couvee-secret" class="regular-text" type="password" autocomplete="off"
              name="<?php echo esc_attr(COUVEE_OPTION); ?>[identify_secret]" value="<?php echo esc_attr($options['identify_secret']); ?>">
              <p class="description">Identifies logged-in WordPress users to Couvée (signed, never sent to browsers).</p></td></tr>
        </table>
        <?php submit_button(); ?>
      </form>
    </div>
    <?php
}

function couvee_tracking_snippet() {
    $options = couvee_tracking_options();
    if ($options['server'] === '' || $options['site_key'] === '') {
        return;
    }
    $src = $options['server'] . '/t/' . rawurlencode($options['site_key']) . '/couvee.js';
    $flags = JSON_HEX_TAG | JSON_HEX_AMP | JSON_HEX_APOS | JSON_HEX_QUOT | JSON_UNESCAPED_SLASHES;
    echo "<script>\n";
    echo "(function(w,d,u){w.couvee=w.couvee||function(){(w.couvee.q=w.couvee.q||[]).push(arguments)};\n";
    echo "var s=d.createElement('script');s.async=true;s.src=u;d.head.appendChild(s);})\n";
    echo '(window,document,' . wp_json_encode($src, $flags) . ");\n";
    echo "couvee('init'," . wp_json_encode($options['site_key'], $flags) . ");\n";
    if ($options['identify_secret'] !== '' && is_user_logged_in()) {
        $user = wp_get_current_user();
        $email = strtolower($user->user_email);
        $identity = array(
            'email' => $email,
            'hash' => hash_hmac('sha256', $email, $options['identify_secret']),
            'first_name' => $user->first_name,
            'last_name' => $user->last_name,
        );
        echo "couvee('identify'," . wp_json_encode($identity, $flags) . ");\n";
    }
    echo "</script>\n";
}

add_action('admin_menu', 'couvee_tracking_admin_menu');
add_action('admin_init', 'couvee_tracking_register_settings');
add_action('wp_head', 'couvee_tracking_snippet', 1);
